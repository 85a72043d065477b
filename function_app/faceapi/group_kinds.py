"""The two kinds of person group the Face API has: PersonGroup and LargePersonGroup. They behave the
same (persons, faces, training, identify); they differ in their routes, id names, error codes and
limits, and live in separate namespaces. One implementation serves both, told which by a GroupKind."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import (
    BadArgument,
    LargePersonGroupExists,
    LargePersonGroupNotFound,
    LargePersonGroupNotTrained,
    LargePersonGroupTrainingNotFinished,
    PersonGroupExists,
    PersonGroupNotFound,
    PersonGroupNotTrained,
    PersonGroupTrainingNotFinished,
)


@dataclass(frozen=True)
class GroupKind:
    route: str  # the collection in the Face API's paths
    id_name: str  # the id's name in paths and bodies
    label: str  # in messages: "Person group 'x' is not found."
    snake: str  # in the names of its functions: create_person_group, create_large_person_group
    # Where its records lie in the app's storage: person groups at the root (as before large groups
    # existed), large person groups under a folder whose '.' no group id can contain, so that the
    # two never collide.
    storage_prefix: str
    not_found: type[PersonGroupNotFound]
    exists: type[PersonGroupExists]
    not_trained: type[PersonGroupNotTrained]
    training_not_finished: type[PersonGroupTrainingNotFinished]

    @property
    def person_function_prefix(self) -> str:
        """Of its person functions' names: none for person groups (create_person), the kind's for the others
        (create_large_person_group_person)."""
        return "" if self.route == "persongroups" else f"{self.snake}_"


PERSON_GROUP = GroupKind(
    "persongroups",
    "personGroupId",
    "Person group",
    "person_group",
    "",
    PersonGroupNotFound,
    PersonGroupExists,
    PersonGroupNotTrained,
    PersonGroupTrainingNotFinished,
)
LARGE_PERSON_GROUP = GroupKind(
    "largepersongroups",
    "largePersonGroupId",
    "Large person group",
    "large_person_group",
    "large.groups/",
    LargePersonGroupNotFound,
    LargePersonGroupExists,
    LargePersonGroupNotTrained,
    LargePersonGroupTrainingNotFinished,
)
GROUP_KINDS = (PERSON_GROUP, LARGE_PERSON_GROUP)


def kind_named(route: str | None) -> GroupKind:
    """The kind a queue message or a setting names by its route; none is a person group."""
    if route is None:
        return PERSON_GROUP
    for kind in GROUP_KINDS:
        if kind.route == route:
            return kind
    raise BadArgument(f"Unknown kind of group {route!r}.")


def group_of_body(body: dict) -> tuple[GroupKind, str] | None:
    """The group a request body names with personGroupId or largePersonGroupId (identify, verify),
    if any: at most one of them, as Azure requires."""
    named = [(kind, body[kind.id_name]) for kind in GROUP_KINDS if body.get(kind.id_name)]
    if len(named) > 1:
        raise BadArgument("personGroupId and largePersonGroupId are both given: give one of them.")
    if not named:
        return None
    kind, group_id = named[0]
    if not isinstance(group_id, str):
        raise BadArgument(f"'{kind.id_name}' must be a string.")
    return kind, group_id

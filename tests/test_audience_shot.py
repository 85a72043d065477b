"""The dev video's audience shot (frames 211-274): Barack Obama, enrolled, turned and laughing between
two people who are not enrolled. His face there is as close to Lin-Manuel Miranda's enrollment as to
his own, so the one wrong answer is a name other than Obama's, in any frame."""

from __future__ import annotations

import pytest

from benchmarks.audience_shot import SHOT, count_shot
from function_app.settings import Settings


@pytest.mark.parametrize("rule", ["calibrated", "nearest"])
def test_no_frame_of_the_audience_shot_names_anyone_but_obama(testdata, rule):
    count = count_shot(testdata, Settings(match_rule=rule))
    assert count.frames == len(SHOT)
    assert count.faces["someone else"] == 0 and count.frames_naming_someone_else == 0, count.others_named
    # BlazeFace finds Obama and the people beside him in every frame.
    assert sum(count.faces.values()) >= 2 * len(SHOT)

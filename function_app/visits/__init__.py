"""Visits: a person's presence at a camera, from the frames that saw them (tracking/ links the frames).
records.py is the stored visit; the index, the query and naming Unknown visitors build on it."""

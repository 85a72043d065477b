"""Tracking: the faces of one camera's successive frames linked into tracks, each track named from all of
its frames, and the tracks gathered into visits (visits/records.py).

state.py      what is kept per camera between frames (tracks, open visits), as JSON
scene.py      a frame's colour signature, to see a cut
association.py which face of a frame continues which track
evidence.py   a track's identity from the evidence of its frames
visits.py     tracks into visits: open, merge, close
cameras.py    the per-camera state in storage, written with ETags, so that any instance can take any frame
"""

"""The edge client: captures video, posts the newest frame to the backend's one-call frame endpoint,
draws the answer; and enrolls photos. A thin client that installs alone (OpenCV, requests, numpy):
it never imports the backend package."""

__version__ = "0.1.0"

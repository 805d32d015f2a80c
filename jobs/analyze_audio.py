"""Queue entry point of the analysis job."""

from mira.interactions.analysis import analyze


def run(job):
    return analyze(job)

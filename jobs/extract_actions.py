"""Queue entry point of the inference job (the assistant on one interaction)."""

from mira.interactions.assistant import run_inference


def run(job):
    return run_inference(job)

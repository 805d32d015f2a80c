"""Queue entry point of the voice command job (answered as Server-Sent Events)."""

from mira.interactions.voice import run_voice_command


def run(job):
    return run_voice_command(job)

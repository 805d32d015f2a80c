"""Queue entry point of the voice enrolment job."""

from mira.persons.enrollment import run as enroll


def run(job):
    return enroll(job)

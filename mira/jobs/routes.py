from flask.views import MethodView

from mira import openapi_examples as examples
from mira.auth.scope import device_route, network_blueprint, parse_uuid, scope
from mira.jobs import services
from mira.jobs.schemas import JobAcceptedSchema, JobQuerySchema, JobSchema
from mira.schemas import TOTAL_COUNT_HEADER, page_headers

blp = network_blueprint("jobs", __name__, "Background work: analysis, enrolment, inference")


@blp.route("")
class Jobs(MethodView):
    @blp.arguments(JobQuerySchema, location="query")
    @blp.response(200, JobSchema(many=True), headers=TOTAL_COUNT_HEADER)
    def get(self, query):
        """Jobs, newest first; filter by `status` or `kind`."""
        items, total = services.list_jobs(scope().network_id, **query)
        return items, page_headers(total)


@blp.route("/<job_id>")
class JobItem(MethodView):
    @device_route
    @blp.response(200, JobSchema, example=examples.JOB)
    def get(self, job_id):
        """A job: status, stage, progress, attempts, result or error."""
        return services.get(scope().network_id, parse_uuid(job_id, "job_id"))


@blp.route("/<job_id>/retry")
class JobRetry(MethodView):
    @blp.response(202, JobAcceptedSchema)
    @blp.alt_response(409, description="The job is not in the failed state")
    def post(self, job_id):
        """Run a failed job again."""
        return services.accepted(services.retry(scope().network_id, parse_uuid(job_id, "job_id")))

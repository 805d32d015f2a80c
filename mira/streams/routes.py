from flask.views import MethodView

from mira.auth.scope import device_route, network_blueprint, scope
from mira.interactions.schemas import UploadQuerySchema
from mira.interactions.upload_views import IDEMPOTENCY_DOC, UPLOAD_DOC, upload_response
from mira.jobs.schemas import JobAcceptedSchema, JobSchema
from mira.streams import services
from mira.streams.schemas import (
    BestStreamSchema,
    PhoneLocationSchema,
    PhoneRssiSchema,
    ScoresSchema,
    StreamInfoSchema,
)

blp = network_blueprint("streams", __name__, "Stream quality and the best microphone")


@blp.route("/best")
class Best(MethodView):
    @blp.response(200, BestStreamSchema)
    def get(self):
        """The client with the best current stream score."""
        return services.best_stream(scope().network_id)


@blp.route("/scores")
class Scores(MethodView):
    @blp.response(200, ScoresSchema)
    def get(self):
        """The active streams' quality scores, and which client currently has the best one."""
        return services.scores(scope().network_id)


@blp.route("/<client_id>/info")
class Info(MethodView):
    @blp.response(200, StreamInfoSchema)
    def get(self, client_id):
        """One client's stream quality (SNR, clarity, level, location, RSSI) and the best stream."""
        return services.client_info(scope().network_id, client_id)


@blp.route("/phone/location")
class PhoneLocation(MethodView):
    @device_route
    @blp.arguments(PhoneLocationSchema)
    @blp.response(200, StreamInfoSchema)
    def post(self, body):
        """A phone's position; its accuracy weighs in the client's score."""
        return services.set_location(scope().network_id, body["client_id"], body["location"])


@blp.route("/phone/rssi")
class PhoneRssi(MethodView):
    @device_route
    @blp.arguments(PhoneRssiSchema)
    @blp.response(200, StreamInfoSchema)
    def post(self, body):
        """Signal strength (dBm) a phone measured to a client; stronger means closer."""
        return services.set_rssi(scope().network_id, body["target_client_id"], body["rssi"])


@blp.route("/<stream_id>/audio", parameters=[IDEMPOTENCY_DOC])
class StreamAudio(MethodView):
    @device_route
    @blp.doc(**UPLOAD_DOC)
    @blp.arguments(UploadQuerySchema, location="query")
    @blp.response(202, JobAcceptedSchema)
    @blp.alt_response(200, schema=JobSchema, description="Finished within `wait` seconds")
    def post(self, query, stream_id):
        """Upload an utterance of this stream (the same as interactions/register)."""
        return upload_response(query, client_id=stream_id)

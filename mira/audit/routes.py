from flask.views import MethodView

from mira.audit import services
from mira.audit.schemas import AuditEntrySchema, AuditQuerySchema
from mira.auth.scope import network_blueprint, owner_only, scope
from mira.schemas import TOTAL_COUNT_HEADER, page_headers

blp = network_blueprint("audit", __name__, "Who changed members, keys and voice data, and when")


@blp.route("")
class AuditLog(MethodView):
    @owner_only
    @blp.arguments(AuditQuerySchema, location="query")
    @blp.response(200, AuditEntrySchema(many=True), headers=TOTAL_COUNT_HEADER)
    def get(self, query):
        """The network's audit log, newest first (owners only); filter by `action`."""
        items, total = services.list_entries(scope().network_id, **query)
        return items, page_headers(total)

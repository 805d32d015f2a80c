from flask.views import MethodView

from mira import openapi_examples as examples
from mira.api import Blueprint
from mira.auth.scope import current_user, parse_uuid, require_user_first
from mira.networks import invitations, services
from mira.networks.schemas import (
    InvitationCreateSchema,
    InvitationSchema,
    MemberCreateSchema,
    MemberSchema,
    NetworkCreateSchema,
    NetworkPatchSchema,
    NetworkSchema,
)
from mira.schemas import TOTAL_COUNT_HEADER, PageArgs, page_headers

blp = Blueprint("networks", __name__, description="Networks (households, teams) and members")
blp.before_request(require_user_first)  # 401 before 422 (mira/auth/scope.py)


@blp.route("")
class Networks(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(
        200, NetworkSchema(many=True), headers=TOTAL_COUNT_HEADER, example=[examples.NETWORK]
    )
    def get(self, page):
        """The caller's networks."""
        items, total = services.list_for_user(current_user(), **page)
        return items, page_headers(total)

    @blp.arguments(NetworkCreateSchema)
    @blp.response(201, NetworkSchema)
    def post(self, body):
        """Create a network; the caller becomes its owner."""
        return services.create_for_user(current_user(), body["name"])


@blp.route("/<network_id>")
class NetworkItem(MethodView):
    @blp.response(200, NetworkSchema)
    def get(self, network_id):
        """A network you belong to, with your role in it."""
        return services.get_for_user(current_user(), parse_uuid(network_id, "network_id"))

    @blp.arguments(NetworkPatchSchema)
    @blp.response(200, NetworkSchema)
    def patch(self, body, network_id):
        """Rename or change settings (merged key by key; null removes a key)."""
        return services.update(current_user(), parse_uuid(network_id, "network_id"), body)

    @blp.response(204)
    def delete(self, network_id):
        """Delete the network and everything in it (owners only)."""
        services.delete(current_user(), parse_uuid(network_id, "network_id"))


@blp.route("/<network_id>/members")
class Members(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, MemberSchema(many=True), headers=TOTAL_COUNT_HEADER)
    def get(self, page, network_id):
        """The network's members and their roles."""
        items, total = services.list_members(
            current_user(), parse_uuid(network_id, "network_id"), **page
        )
        return items, page_headers(total)

    @blp.arguments(MemberCreateSchema)
    @blp.response(201, MemberSchema)
    def post(self, body, network_id):
        """Add an existing user by email (owners only)."""
        return services.add_member(
            current_user(), parse_uuid(network_id, "network_id"), body["email"], body["role"]
        )


@blp.route("/<network_id>/members/<user_id>")
class MemberItem(MethodView):
    @blp.response(204)
    def delete(self, network_id, user_id):
        """Remove a member (owners), or leave the network (yourself)."""
        services.remove_member(
            current_user(), parse_uuid(network_id, "network_id"), parse_uuid(user_id, "user_id")
        )


@blp.route("/<network_id>/invitations")
class Invitations(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, InvitationSchema(many=True), headers=TOTAL_COUNT_HEADER)
    def get(self, page, network_id):
        """Invitations not yet accepted nor expired (owners only)."""
        items, total = invitations.list_pending(
            current_user(), parse_uuid(network_id, "network_id"), **page
        )
        return items, page_headers(total)

    @blp.arguments(InvitationCreateSchema)
    @blp.response(201, InvitationSchema)
    def post(self, body, network_id):
        """Invite someone without an account (owners only); works while sign-up is closed.

        The answer's `token` is shown once: the invitee signs up with `POST /auth/register
        {email, password, invitation}` (or signs in with Google/GitHub under the same verified
        address) and joins this network, which becomes their default.
        """
        return invitations.invite(
            current_user(), parse_uuid(network_id, "network_id"), body["email"], body["role"]
        )


@blp.route("/<network_id>/invitations/<invitation_id>")
class InvitationItem(MethodView):
    @blp.response(204)
    def delete(self, network_id, invitation_id):
        """Withdraw an invitation (owners only)."""
        invitations.revoke(
            current_user(),
            parse_uuid(network_id, "network_id"),
            parse_uuid(invitation_id, "invitation_id"),
        )

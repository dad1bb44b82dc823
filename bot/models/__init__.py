"""All tables; importing this module registers them on ``SQLModel.metadata``."""

from bot.models.audit import AuditEntry
from bot.models.delivery import Delivery, DeliveryStatus
from bot.models.files import StoredFile
from bot.models.fsm import FsmRecord
from bot.models.links import AccountLink
from bot.models.notices import Notice, NoticeAttachment, NoticeGroup, NoticeRead, NoticeRevision
from bot.models.oversight import Recommendation, ReportReminder
from bot.models.people import ChannelAccount, Household, Person, Resident, RosterEntry
from bot.models.roles import Invite, Role, RoleGrant
from bot.models.tickets import (
    OPEN_STATUSES,
    Ticket,
    TicketAttachment,
    TicketDigest,
    TicketEvent,
    TicketSequence,
    TicketStatus,
)
from bot.models.votes import Ballot, Opinion, Vote, VoteGroup
from bot.models.wards import (
    NoticeCategory,
    Office,
    Province,
    ResidentialGroup,
    TicketCategory,
    TicketType,
    Ward,
)

__all__ = [
    "OPEN_STATUSES",
    "AccountLink",
    "AuditEntry",
    "Ballot",
    "ChannelAccount",
    "Delivery",
    "DeliveryStatus",
    "FsmRecord",
    "Household",
    "Invite",
    "Notice",
    "NoticeAttachment",
    "NoticeCategory",
    "NoticeGroup",
    "NoticeRead",
    "NoticeRevision",
    "Office",
    "Opinion",
    "Person",
    "Province",
    "Recommendation",
    "ReportReminder",
    "Resident",
    "ResidentialGroup",
    "Role",
    "RoleGrant",
    "RosterEntry",
    "StoredFile",
    "Ticket",
    "TicketAttachment",
    "TicketCategory",
    "TicketDigest",
    "TicketEvent",
    "TicketSequence",
    "TicketStatus",
    "TicketType",
    "Vote",
    "VoteGroup",
    "Ward",
]

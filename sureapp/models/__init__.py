"""All models, importable from one place (and all registered for migrations)."""
from .automations import (AUTOMATION_STATUSES, AUTOMATION_TRIGGERS, RUN_STATES, Automation,
                          AutomationRun)
from .contacts import (CAMPAIGN_STATUSES, CONTACT_STATUSES, Campaign, Contact, ContactEvent,
                       ContactList, Tag, campaign_lists, list_members, tag_members)
from .idempotency import IdempotentRequest
from .jobs import FINISHED_STATES, JOB_STATES, Job
from .keys import (ABILITIES, KEY_TYPE_SURFACES, KEY_TYPES, ApiKey, ApiKeyEvent, ApiRequestLog,
                   KeyPolicyEvent, KeyReminder, LeakReport)
from .oauth import CLIENT_AUTH_METHODS, OAuthClient, OAuthCode, OAuthGrant, OAuthRefreshToken
from .once import FormSubmission, OneTimeReveal
from .sending import (RECIPIENT_STATES, TLS_MODES, UNFINISHED_RECIPIENT_STATES,
                      CampaignRecipient, SmtpConnection, SmtpRateWindow)
from .sessions import UserSession
from .subscriptions import ConfirmationRequest
from .tenancy import (Invitation, Organization, OrgMembership, Role, User, Workspace,
                      WorkspaceMembership)
from .webhooks import DELIVERY_STATES, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "ABILITIES", "AUTOMATION_STATUSES", "CLIENT_AUTH_METHODS", "OAuthClient", "OAuthCode",
    "OAuthGrant", "OAuthRefreshToken", "AUTOMATION_TRIGGERS", "CAMPAIGN_STATUSES",
    "CONTACT_STATUSES", "DELIVERY_STATES", "FINISHED_STATES", "JOB_STATES", "Job", "KEY_TYPES", "KEY_TYPE_SURFACES", "ApiKey", "ApiKeyEvent",
    "ApiRequestLog", "CampaignRecipient", "ConfirmationRequest", "RECIPIENT_STATES",
    "SmtpConnection", "SmtpRateWindow", "TLS_MODES", "UNFINISHED_RECIPIENT_STATES", "KeyPolicyEvent", "KeyReminder", "LeakReport", "Automation", "AutomationRun", "RUN_STATES", "Campaign", "FormSubmission", "OneTimeReveal", "IdempotentRequest", "Contact", "ContactEvent", "ContactList",
    "Invitation", "OrgMembership", "Organization", "Role", "Tag", "User", "UserSession", "WebhookDelivery",
    "WebhookEndpoint", "WebhookEvent", "Workspace",
    "WorkspaceMembership", "campaign_lists", "list_members", "tag_members",
]

"""MCP prompts: ready-made instructions a user picks (a slash command in most clients) to have
their assistant do a common job with this server's tools. A prompt is listed only when the key
may call the tools it cannot do without, and its text names only the tools this key may call,
so the assistant is never sent towards a refusal.
"""
import json
from collections.abc import Callable
from dataclasses import dataclass

from ..keyauth import KeyContext
from ..validation import text_problem
from .protocol import InvalidArguments, NotAllowed, UnknownPrompt, at_least
from .resources import RESOURCES, WorkspaceResources
from .tools import TOOLS, not_allowed

ARGUMENT_MAX = 500


@dataclass(frozen=True)
class Argument:
    name: str
    description: str
    required: bool = False


@dataclass(frozen=True)
class PromptContext:
    """What a prompt's text is made from: the workspace, and what the key may do in it."""

    key: KeyContext
    workspace: object
    resources: WorkspaceResources

    def can(self, tool: str) -> bool:
        return TOOLS[tool].allowed(self.key)


@dataclass(frozen=True)
class Prompt:
    name: str
    title: str
    description: str
    requires: tuple[str, ...]  # tools without which the prompt cannot do its job
    arguments: tuple[Argument, ...]
    messages: Callable[[PromptContext, dict[str, str]], list[dict]]

    def allowed(self, key: KeyContext) -> bool:
        return all(TOOLS[t].allowed(key) for t in self.requires)

    def descriptor(self, version: str) -> dict:
        described = {"name": self.name, "description": self.description,
                     "arguments": [{"name": a.name, "description": a.description,
                                    "required": a.required} for a in self.arguments]}
        if at_least(version, "2025-06-18"):
            described["title"] = self.title
        return described

    def check(self, arguments: dict[str, str]) -> dict[str, str]:
        """The arguments trimmed, or InvalidArguments naming each bad one."""
        known = {a.name: a for a in self.arguments}
        errors = {name: ["Unknown argument."] for name in arguments if name not in known}
        values = {}
        for name, argument in known.items():
            value = arguments.get(name, "").strip()
            if not value:
                if argument.required:
                    errors[name] = ["Required."]
                continue
            problem = text_problem(value, allow_newlines=False)
            if problem is None and len(value) > ARGUMENT_MAX:
                problem = f"At most {ARGUMENT_MAX} characters."
            if problem is not None:
                errors[name] = [problem]
            values[name] = value
        if errors:
            summary = "; ".join(f"{field}: {', '.join(msgs)}" for field, msgs in errors.items())
            raise InvalidArguments(f"Invalid arguments for prompt {self.name}: {summary}", errors)
        return values


def _text(text: str) -> dict:
    return {"role": "user", "content": {"type": "text", "text": text}}


def _quoted(value: str) -> str:
    """A user's value inside the prompt, delimited so it reads as data, not instructions."""
    return json.dumps(value, ensure_ascii=False)


def _tools(ctx: PromptContext, *names: str) -> str:
    return ", ".join(f"`{n}`" for n in names if ctx.can(n))


# ---- the prompts ---------------------------------------------------------------------------

def _duplicates(ctx: PromptContext, args: dict[str, str]) -> list[dict]:
    scope = (f" whose email, name or company contains {_quoted(args['search'])} (pass it as "
             "`search`)" if "search" in args else "")
    steps = [
        f"Find contacts in the sureapp workspace {_quoted(ctx.workspace.name)} that are "
        "probably the same person, and help me clean them up.",
        f"1. Read every contact{scope} with `list_contacts`, passing back `next_cursor` until it "
        "is null.",
        "2. Group likely duplicates: the same email apart from letter case, dots or a +tag in "
        "the local part; the same phone number; or the same first and last name at the same "
        "company. Emails are unique in a workspace, so duplicates always differ in email.",
        "3. Show each group as a table (email, name, company, phone, status, created_at, lists, "
        "tags) and say which contact you would keep: the most complete one, else the oldest. "
        "Change nothing until I confirm that group.",
    ]
    merge = _tools(ctx, "update_contact", "add_contacts_to_list", "add_contacts_to_tag")
    if merge:
        steps.append(f"4. For a group I confirm: copy the fields the kept contact lacks onto "
                     f"it and give it the others' lists and tags (with {merge}).")
    if ctx.can("delete_contact"):
        steps.append("5. Then delete the other contacts of that group with `delete_contact`; "
                     "it cannot be undone, so do it only for groups I confirmed.")
    else:
        steps.append("This key may not delete contacts: end with the list of contacts a person "
                     "should delete in sureapp.")
    return [_text("\n".join(steps))]


def _summary(ctx: PromptContext, args: dict[str, str]) -> list[dict]:
    report = RESOURCES[0]
    focus = f" Pay most attention to {_quoted(args['focus'])}." if "focus" in args else ""
    contents = ctx.resources.read_resource(report.uri)[0]
    return [
        {"role": "user", "content": {"type": "resource", "resource": contents}},
        _text(f"Summarise the sureapp workspace {_quoted(ctx.workspace.name)} for me from the "
              "report above: contacts by status, the largest lists and tags, campaigns by "
              f"status, and growth over the last 30 days (days in {ctx.workspace.timezone}). "
              "Point out anything that needs attention, such as many bounced or unsubscribed "
              "contacts, empty lists or tags, or campaigns left in draft." + focus +
              " Keep it short: a few bullet points and one recommendation."),
    ]


def _campaign(ctx: PromptContext, args: dict[str, str]) -> list[dict]:
    audience = (f" for the list that best matches {_quoted(args['audience'])}"
                if "audience" in args else "")
    return [_text(
        f"Draft an email campaign in the sureapp workspace {_quoted(ctx.workspace.name)} about "
        f"{_quoted(args['topic'])}{audience}.\n"
        "1. Look at the lists with `list_lists` and pick the target list(s); ask me if it is "
        "not clear.\n"
        "2. Write a name, a subject line under 60 characters and simple HTML content with a "
        "greeting that uses {{ first_name }}, and show them to me.\n"
        "3. When I approve, save it with `create_campaign` with those `list_ids` (it is "
        "saved as a draft). Do not send it: I send it myself.")]


PROMPTS = {p.name: p for p in (
    Prompt("clean_up_duplicate_contacts", "Clean up duplicate contacts",
           "Find contacts that are probably the same person, show them for confirmation, then "
           "merge them with the tools this key may use.",
           requires=("list_contacts",),
           arguments=(Argument("search", "Only look at contacts whose email, name or company "
                                         "contains this (for example a company name)."),),
           messages=_duplicates),
    Prompt("summarise_workspace", "Summarise this workspace",
           "A short summary of the workspace's contacts, lists, tags, campaigns and growth, "
           "from its report.",
           requires=("get_report_summary",),
           arguments=(Argument("focus", "What to pay most attention to (for example growth "
                                        "or unsubscribes)."),),
           messages=_summary),
    Prompt("draft_campaign", "Draft an email campaign",
           "Write a draft campaign for one of the workspace's lists and save it as a draft "
           "after you approve it.",
           requires=("list_lists", "create_campaign"),
           arguments=(Argument("topic", "What the campaign is about.", required=True),
                      Argument("audience", "Who it is for (a list's name or a description).")),
           messages=_campaign),
)}


class WorkspacePrompts:
    """The prompts as one key sees them."""

    def __init__(self, key: KeyContext, workspace, resources: WorkspaceResources):
        self.key = key
        self.context = PromptContext(key=key, workspace=workspace, resources=resources)

    def list_prompts(self, version: str) -> list[dict]:
        return [p.descriptor(version) for p in PROMPTS.values() if p.allowed(self.key)]

    def get_prompt(self, name: str, arguments: dict[str, str]) -> dict:
        prompt = PROMPTS.get(name)
        if prompt is None:
            raise UnknownPrompt(name)
        if not prompt.allowed(self.key):
            missing = next(TOOLS[t] for t in prompt.requires if not TOOLS[t].allowed(self.key))
            raise NotAllowed(*not_allowed(self.key, missing.ability, missing.resource))
        values = prompt.check(arguments)
        return {"description": prompt.description,
                "messages": prompt.messages(self.context, values)}

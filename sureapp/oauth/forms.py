"""The consent form: which workspace, which of the asked abilities, Allow or Deny. It only
parses input; oauth/grants.py holds the rules."""
from flask_wtf import FlaskForm
from wtforms import SelectField

from ..keys import abilities as ability_strings
from ..keys.forms import CheckboxesField


def ability_label(ability: str) -> str:
    """'read' → 'Read: all resources', 'contacts:write' → 'Write: Contacts'."""
    return ability_strings.summarize([ability])[0].detail


class ConsentForm(FlaskForm):
    workspace_id = SelectField("Workspace", choices=[], validate_choice=False)
    abilities = CheckboxesField("Abilities")

    def offer(self, workspaces, asked: str) -> "ConsentForm":
        """Choices: the workspaces the user manages, the abilities the client asked for (all
        ticked on first view)."""
        self.workspace_id.choices = [(str(w.id), f"{w.organization.name} · {w.name}")
                                     for w in workspaces]
        self.abilities.choices = [(a, ability_label(a)) for a in ability_strings.split(asked)]
        if not self.is_submitted():
            self.abilities.data = list(ability_strings.split(asked))
        return self

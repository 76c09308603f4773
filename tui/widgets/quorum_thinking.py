"""The Thinking Together card, shown once a quorum is formed, with the agreed next step.

AMBIT: "Thinking Together is a set of structured 'steps' (We sometimes call it the
'fourstep dance') that offer a deliberately ritualised way to talk about casework,
so as to Mark the fact that we are attending to mental states at that time -
especially that of the worker asking for advice, support, or help."
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Button, Input, Label, Static

STEPS = (
    ("Mark the task", "Say out loud that this is a Thinking Together call, who asks, and what help they want."),
    ("State the case", "The facts, briefly, by case reference only: what has happened, what worries you."),
    ("Mentalize the moment", "What might each person be feeling and thinking now: the young person, family, you?"),
    ("Return to purpose", "Back to the task: agree the next step, and check it answers what was asked."),
)


class ThinkingTogetherCard(Vertical):
    """The four steps and a field for the agreed next step (saved by the screen)."""

    class NextStepSubmitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def compose(self) -> ComposeResult:
        yield Label("[b]Thinking Together[/b] · the four steps", id="thinking-title")
        yield Static("\n".join(f"[b]{n}. {title}[/b] — {text}" for n, (title, text) in enumerate(STEPS, 1)),
                     id="thinking-steps")
        with Horizontal(id="next-step-row"):
            yield Input(placeholder="Agreed next step (case reference only, no client names)", id="next-step",
                        max_length=2000)
            yield Button("Save next step", id="save-next-step", variant="primary")
        yield Static("", id="next-step-saved")

    def show(self, next_step: str | None) -> None:
        """Show the stored next step (without overwriting what is being typed)."""
        saved = self.query_one("#next-step-saved", Static)
        saved.update(f"Next step noted: {next_step}" if next_step else "")
        field = self.query_one("#next-step", Input)
        if next_step and not field.value and not field.has_focus:
            field.value = next_step

    @on(Input.Submitted, "#next-step")
    @on(Button.Pressed, "#save-next-step")
    def submit(self, event: Message) -> None:
        event.stop()
        text = self.query_one("#next-step", Input).value.strip()
        if text:
            self.post_message(self.NextStepSubmitted(text))

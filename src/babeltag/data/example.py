"""What one labelled (or unlabelled) sentence looks like before it becomes tensors."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Example:
    """One sentence (or document) of one (task, language) dataset.

    ``labels`` holds one tag per token for sequence labelling, ``label`` one class for text
    classification; both are ``None`` for unlabelled text. ``origin`` says where the example came
    from (``"path:line"``) so that later errors can point back at the input, and ``meta`` keeps
    whatever a writer needs to reproduce the input format (CoNLL-U token lines, comments, ...).
    """

    tokens: list[str]
    language: str
    task: str
    labels: list[str] | None = None
    label: str | None = None
    origin: str | None = None
    meta: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.labels is not None and len(self.labels) != len(self.tokens):
            raise ValueError(
                f"{self.origin or 'example'}: {len(self.tokens)} tokens but {len(self.labels)} labels"
            )

    def __len__(self) -> int:
        return len(self.tokens)

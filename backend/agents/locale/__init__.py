"""What the agent says, in the user's language: the phrasebook (`phrases`), numbers, dates, times and
rupee amounts as spoken (`spoken`), and which language a turn is answered in (`detect`)."""

from backend.agents.locale.detect import reply_language
from backend.agents.locale.phrases import PHRASES, phrase
from backend.agents.locale.spoken import REPLY_LANGUAGES, reply_code

__all__ = ["PHRASES", "REPLY_LANGUAGES", "phrase", "reply_code", "reply_language"]

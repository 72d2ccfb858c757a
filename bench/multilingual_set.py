"""The project's multilingual test set: five things a caller says, in each of the eight languages.

Written by hand (a greeting, a booking, a listing, the time, a name), spoken by eSpeak NG in the
language (`espeak_audio`): the one voice for all eight that this machine has offline. eSpeak's Indic
voices are robotic and recognisers find them harder than people; figures measured on them are a floor,
not a promise (docs/LANGUAGES.md).
"""

from __future__ import annotations

import subprocess

import numpy as np

from backend.core.languages import LANGUAGES
from backend.media.audio import decode_audio

PHRASES: dict[str, tuple[str, ...]] = {
    "en": (
        "Hello, how are you?",
        "Book a haircut for tomorrow at three pm.",
        "Show me my appointments.",
        "What time is it now?",
        "My name is Rahul.",
    ),
    "hi": (
        "नमस्ते, आप कैसे हैं?",
        "कल दोपहर तीन बजे हेयरकट बुक करो।",
        "मेरे अपॉइंटमेंट दिखाओ।",
        "अभी कितने बजे हैं?",
        "मेरा नाम राहुल है।",
    ),
    "mr": (
        "नमस्कार, तुम्ही कसे आहात?",
        "उद्या दुपारी तीन वाजता हेअरकट बुक करा.",
        "माझ्या अपॉइंटमेंट दाखवा.",
        "आता किती वाजले आहेत?",
        "माझे नाव राहुल आहे.",
    ),
    "bn": (
        "নমস্কার, আপনি কেমন আছেন?",
        "আগামীকাল দুপুর তিনটায় চুল কাটার বুকিং করুন।",
        "আমার অ্যাপয়েন্টমেন্টগুলো দেখান।",
        "এখন কটা বাজে?",
        "আমার নাম রাহুল।",
    ),
    "gu": (
        "નમસ્તે, તમે કેમ છો?",
        "કાલે બપોરે ત્રણ વાગ્યે હેરકટ બુક કરો.",
        "મારી એપોઇન્ટમેન્ટ બતાવો.",
        "અત્યારે કેટલા વાગ્યા છે?",
        "મારું નામ રાહુલ છે.",
    ),
    "ta": (
        "வணக்கம், எப்படி இருக்கிறீர்கள்?",
        "நாளை மதியம் மூன்று மணிக்கு முடி வெட்ட முன்பதிவு செய்யுங்கள்.",
        "என் சந்திப்புகளைக் காட்டுங்கள்.",
        "இப்போது மணி என்ன?",
        "என் பெயர் ராகுல்.",
    ),
    "te": (
        "నమస్కారం, మీరు ఎలా ఉన్నారు?",
        "రేపు మధ్యాహ్నం మూడు గంటలకు హెయిర్‌కట్ బుక్ చేయండి.",
        "నా అపాయింట్‌మెంట్‌లు చూపించండి.",
        "ఇప్పుడు సమయం ఎంత?",
        "నా పేరు రాహుల్.",
    ),
    "ml": (
        "നമസ്കാരം, സുഖമാണോ?",
        "നാളെ ഉച്ചയ്ക്ക് മൂന്ന് മണിക്ക് ഹെയർകട്ട് ബുക്ക് ചെയ്യൂ.",
        "എന്റെ അപ്പോയിന്റ്മെന്റുകൾ കാണിക്കൂ.",
        "ഇപ്പോൾ സമയം എത്രയായി?",
        "എന്റെ പേര് രാഹുൽ.",
    ),
}


def espeak_audio(text: str, language: str, rate: int = 16000) -> np.ndarray:
    """`text` spoken by eSpeak NG's voice for `language`, as float32 mono at `rate`."""
    voice = LANGUAGES[language].espeak_voice
    wav = subprocess.run(["espeak-ng", "-v", voice, "--stdout", text], check=True, capture_output=True).stdout
    return decode_audio(wav, sample_rate=rate)

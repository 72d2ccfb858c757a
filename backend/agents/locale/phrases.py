"""Everything the agent says in fixed words (tool confirmations, questions back, errors, the fallback
reply), keyed by message id, then by reply language (`spoken.REPLY_LANGUAGES`: our eight codes and
`hi-Latn`, romanised Hindi). English is the fallback for a language or id that lacks a template.

Written as a person says it on the phone, not translated word for word: the English words people use
as they are (appointment, book, cancel, in the script of the language: "अपॉइंटमेंट", "అపాయింట్‌మెంట్"),
polite forms ("आप", "तुम्ही", "நீங்கள்"), and first-person verbs that do not give the assistant a gender
(Hindi "रखूँ", "करूँ"; never "सकता/सकती").

Placeholders (the same in every language; `tests/unit/test_phrases.py` checks it):
  {when}    a day and time, `spoken.when_phrase()`: "tomorrow at 3 pm", "कल दोपहर तीन बजे"
  {day}     a day, `spoken.day_phrase()`: "tomorrow", "on Friday 27 November", "शुक्रवार, 27 नवंबर को"
  {purpose} what an appointment is for, as the user said it ("haircut", "हेयरकट")
  {item} / {items}  one appointment / several joined (`appointments.item`, `spoken.join_items()`)
  {count}   a number in words; {time}, {date}: `spoken.clock(now=True)`, `spoken.date_name()`
  {value}, {key}  a remembered fact and its name
"""

from __future__ import annotations

import string
import unicodedata

from backend.agents.locale.spoken import reply_code

PHRASES: dict[str, dict[str, str]] = {
    # ------------------------------------------------------------ booking
    "book.ask_when": {
        "en": "Sure. Which day and time would you like?",
        "hi": "ज़रूर। किस दिन और कितने बजे रखूँ?",
        "hi-Latn": "Zaroor. Kis din aur kitne baje rakhun?",
        "mr": "नक्की. कोणत्या दिवशी आणि किती वाजता ठेवू?",
        "gu": "ચોક્કસ. કયા દિવસે અને કેટલા વાગ્યે રાખું?",
        "bn": "নিশ্চয়ই। কোন দিন আর কটায় রাখব?",
        "ta": "சரி. எந்த நாள், எத்தனை மணிக்கு வைக்கட்டும்?",
        "te": "తప్పకుండా. ఏ రోజు, ఎన్ని గంటలకు పెట్టమంటారు?",
        "ml": "തീർച്ചയായും. ഏത് ദിവസം, എത്ര മണിക്ക് വെക്കണം?",
    },
    "book.ask_time": {
        "en": "What time would you like {day}?",
        "hi": "{day} कितने बजे रखूँ?",
        "hi-Latn": "{day} kitne baje rakhun?",
        "mr": "{day} किती वाजता ठेवू?",
        "gu": "{day} કેટલા વાગ્યે રાખું?",
        "bn": "{day} কটায় রাখব?",
        "ta": "{day} எத்தனை மணிக்கு வைக்கட்டும்?",
        "te": "{day} ఎన్ని గంటలకు పెట్టమంటారు?",
        "ml": "{day} എത്ര മണിക്ക് വെക്കണം?",
    },
    "book.past": {
        "en": "That time has already passed. Please choose a later time.",
        "hi": "यह समय तो निकल चुका है। कोई बाद का समय बताइए।",
        "hi-Latn": "Yeh time toh nikal chuka hai. Koi baad ka time batayiye.",
        "mr": "ही वेळ आधीच निघून गेली आहे. कृपया नंतरची वेळ सांगा.",
        "gu": "એ સમય તો જતો રહ્યો છે. કૃપા કરીને પછીનો સમય કહો.",
        "bn": "ওই সময়টা তো পেরিয়ে গেছে। পরের কোনো সময় বলুন।",
        "ta": "அந்த நேரம் ஏற்கனவே கடந்துவிட்டது. தயவுசெய்து பிறகு ஒரு நேரம் சொல்லுங்கள்.",
        "te": "ఆ సమయం ఇప్పటికే దాటిపోయింది. దయచేసి తర్వాతి సమయం చెప్పండి.",
        "ml": "ആ സമയം കഴിഞ്ഞുപോയി. ദയവായി പിന്നീടുള്ള ഒരു സമയം പറയൂ.",
    },
    "book.taken": {
        "en": "Sorry, {when} is already booked. Please choose another time.",
        "hi": "माफ़ कीजिए, {when} पहले से बुक है। कोई और समय बताइए।",
        "hi-Latn": "Sorry, {when} pehle se booked hai. Koi aur time batayiye.",
        "mr": "माफ करा, {when} आधीच बुक आहे. कृपया दुसरी वेळ सांगा.",
        "gu": "માફ કરશો, {when} પહેલેથી બુક છે. કૃપા કરીને બીજો સમય કહો.",
        "bn": "দুঃখিত, {when} আগে থেকেই বুক করা আছে। অন্য একটা সময় বলুন।",
        "ta": "மன்னிக்கவும், {when} ஏற்கனவே புக் ஆகிவிட்டது. வேறு ஒரு நேரம் சொல்லுங்கள்.",
        "te": "క్షమించండి, {when} ఇప్పటికే బుక్ అయింది. వేరే సమయం చెప్పండి.",
        "ml": "ക്ഷമിക്കണം, {when} ഇതിനകം ബുക്ക് ചെയ്തിട്ടുണ്ട്. വേറൊരു സമയം പറയൂ.",
    },
    "book.done": {
        "en": "Booked for {when}.",
        "hi": "{when} के लिए बुक हो गया है।",
        "hi-Latn": "{when} ke liye book ho gaya hai.",
        "mr": "{when} तुमची अपॉइंटमेंट बुक झाली आहे.",
        "gu": "{when} તમારી એપોઇન્ટમેન્ટ બુક થઈ ગઈ છે.",
        "bn": "{when} আপনার অ্যাপয়েন্টমেন্ট বুক হয়ে গেছে।",
        "ta": "{when} உங்கள் அப்பாயின்ட்மென்ட் புக் ஆகிவிட்டது.",
        "te": "{when} మీ అపాయింట్‌మెంట్ బుక్ అయింది.",
        "ml": "{when} നിങ്ങളുടെ അപ്പോയിന്റ്മെന്റ് ബുക്ക് ചെയ്തു.",
    },
    "book.done_for": {
        "en": "Booked for {when} for {purpose}.",
        "hi": "{when} के लिए आपका {purpose} बुक हो गया है।",
        "hi-Latn": "{when} ke liye aapka {purpose} book ho gaya hai.",
        "mr": "{when} तुमची {purpose} अपॉइंटमेंट बुक झाली आहे.",
        "gu": "{when} તમારી {purpose} એપોઇન્ટમેન્ટ બુક થઈ ગઈ છે.",
        "bn": "{when} আপনার {purpose} বুক হয়ে গেছে।",
        "ta": "{when} உங்கள் {purpose} புக் ஆகிவிட்டது.",
        "te": "{when} మీ {purpose} బుక్ అయింది.",
        "ml": "{when} നിങ്ങളുടെ {purpose} ബുക്ക് ചെയ്തു.",
    },
    # ------------------------------------------------------------ listing
    "appointments.item_for": {  # one appointment with what it is for, in a list
        "en": "{when} for {purpose}",
        "hi": "{purpose}, {when}",
        "hi-Latn": "{purpose}, {when}",
        "mr": "{purpose}, {when}",
        "gu": "{purpose}, {when}",
        "bn": "{purpose}, {when}",
        "ta": "{purpose}, {when}",
        "te": "{purpose}, {when}",
        "ml": "{purpose}, {when}",
    },
    "list.none": {
        "en": "You have no upcoming appointments.",
        "hi": "अभी आपका कोई अपॉइंटमेंट नहीं है।",
        "hi-Latn": "Abhi aapka koi appointment nahi hai.",
        "mr": "सध्या तुमची कोणतीही अपॉइंटमेंट नाही.",
        "gu": "અત્યારે તમારી કોઈ એપોઇન્ટમેન્ટ નથી.",
        "bn": "এখন আপনার কোনো অ্যাপয়েন্টমেন্ট নেই।",
        "ta": "இப்போது உங்களுக்கு எந்த அப்பாயின்ட்மென்ட்டும் இல்லை.",
        "te": "ప్రస్తుతం మీకు ఏ అపాయింట్‌మెంట్లూ లేవు.",
        "ml": "ഇപ്പോൾ നിങ്ങൾക്ക് അപ്പോയിന്റ്മെന്റുകളൊന്നുമില്ല.",
    },
    "list.one": {
        "en": "You have one appointment: {item}.",
        "hi": "आपका एक अपॉइंटमेंट है: {item}।",
        "hi-Latn": "Aapka ek appointment hai: {item}.",
        "mr": "तुमची एक अपॉइंटमेंट आहे: {item}.",
        "gu": "તમારી એક એપોઇન્ટમેન્ટ છે: {item}.",
        "bn": "আপনার একটা অ্যাপয়েন্টমেন্ট আছে: {item}।",
        "ta": "உங்களுக்கு ஒரு அப்பாயின்ட்மென்ட் இருக்கிறது: {item}.",
        "te": "మీకు ఒక అపాయింట్‌మెంట్ ఉంది: {item}.",
        "ml": "നിങ്ങൾക്ക് ഒരു അപ്പോയിന്റ്മെന്റ് ഉണ്ട്: {item}.",
    },
    "list.many": {
        "en": "You have {count} appointments: {items}.",
        "hi": "आपके {count} अपॉइंटमेंट हैं: {items}।",
        "hi-Latn": "Aapke {count} appointments hain: {items}.",
        "mr": "तुमच्या {count} अपॉइंटमेंट आहेत: {items}.",
        "gu": "તમારી {count} એપોઇન્ટમેન્ટ છે: {items}.",
        "bn": "আপনার {count}টি অ্যাপয়েন্টমেন্ট আছে: {items}।",
        "ta": "உங்களுக்கு {count} அப்பாயின்ட்மென்ட்கள் இருக்கின்றன: {items}.",
        "te": "మీకు {count} అపాయింట్‌మెంట్లు ఉన్నాయి: {items}.",
        "ml": "നിങ്ങൾക്ക് {count} അപ്പോയിന്റ്മെന്റുകൾ ഉണ്ട്: {items}.",
    },
    # ------------------------------------------------------------ cancelling
    "cancel.none": {
        "en": "You have no appointments to cancel.",
        "hi": "आपका कोई अपॉइंटमेंट है ही नहीं जिसे कैंसल करूँ।",
        "hi-Latn": "Aapka koi appointment hai hi nahi jise cancel karun.",
        "mr": "रद्द करण्यासाठी तुमची कोणतीही अपॉइंटमेंट नाही.",
        "gu": "કેન્સલ કરવા માટે તમારી કોઈ એપોઇન્ટમેન્ટ નથી.",
        "bn": "বাতিল করার মতো আপনার কোনো অ্যাপয়েন্টমেন্ট নেই।",
        "ta": "ரத்து செய்ய உங்களுக்கு எந்த அப்பாயின்ட்மென்ட்டும் இல்லை.",
        "te": "రద్దు చేయడానికి మీకు ఏ అపాయింట్‌మెంట్లూ లేవు.",
        "ml": "റദ്ദാക്കാൻ നിങ്ങൾക്ക് അപ്പോയിന്റ്മെന്റുകളൊന്നുമില്ല.",
    },
    "cancel.not_found": {
        "en": "I couldn't find an appointment at that time.",
        "hi": "उस समय का कोई अपॉइंटमेंट नहीं मिला।",
        "hi-Latn": "Us time ka koi appointment nahi mila.",
        "mr": "त्या वेळेची कोणतीही अपॉइंटमेंट सापडली नाही.",
        "gu": "એ સમયની કોઈ એપોઇન્ટમેન્ટ મળી નથી.",
        "bn": "ওই সময়ে কোনো অ্যাপয়েন্টমেন্ট পাওয়া যায়নি।",
        "ta": "அந்த நேரத்தில் எந்த அப்பாயின்ட்மென்ட்டும் கிடைக்கவில்லை.",
        "te": "ఆ సమయంలో ఏ అపాయింట్‌మెంట్ కనిపించలేదు.",
        "ml": "ആ സമയത്ത് അപ്പോയിന്റ്മെന്റ് ഒന്നും കണ്ടെത്താനായില്ല.",
    },
    "cancel.not_found_for": {
        "en": "I couldn't find a {purpose} appointment.",
        "hi": "{purpose} का कोई अपॉइंटमेंट नहीं मिला।",
        "hi-Latn": "{purpose} ka koi appointment nahi mila.",
        "mr": "{purpose} साठी कोणतीही अपॉइंटमेंट सापडली नाही.",
        "gu": "{purpose} માટે કોઈ એપોઇન્ટમેન્ટ મળી નથી.",
        "bn": "{purpose}-এর কোনো অ্যাপয়েন্টমেন্ট পাওয়া যায়নি।",
        "ta": "{purpose} அப்பாயின்ட்மென்ட் எதுவும் கிடைக்கவில்லை.",
        "te": "{purpose} అపాయింట్‌మెంట్ ఏదీ కనిపించలేదు.",
        "ml": "{purpose} അപ്പോയിന്റ്മെന്റ് ഒന്നും കണ്ടെത്താനായില്ല.",
    },
    "cancel.which": {
        "en": "You have several: {items}. Which one should I cancel?",
        "hi": "आपके कई अपॉइंटमेंट हैं: {items}। इनमें से कौन-सा कैंसल करूँ?",
        "hi-Latn": "Aapke kai appointments hain: {items}. Inmein se kaunsa cancel karun?",
        "mr": "तुमच्या अनेक अपॉइंटमेंट आहेत: {items}. यातली कोणती रद्द करू?",
        "gu": "તમારી ઘણી એપોઇન્ટમેન્ટ છે: {items}. આમાંથી કઈ કેન્સલ કરું?",
        "bn": "আপনার কয়েকটা অ্যাপয়েন্টমেন্ট আছে: {items}। কোনটা বাতিল করব?",
        "ta": "உங்களுக்கு பல அப்பாயின்ட்மென்ட்கள் உள்ளன: {items}. எதை ரத்து செய்யட்டும்?",
        "te": "మీకు చాలా అపాయింట్‌మెంట్లు ఉన్నాయి: {items}. ఏది రద్దు చేయమంటారు?",
        "ml": "നിങ്ങൾക്ക് പല അപ്പോയിന്റ്മെന്റുകളുണ്ട്: {items}. ഏതാണ് റദ്ദാക്കേണ്ടത്?",
    },
    "cancel.done": {
        "en": "Cancelled your appointment {when}.",
        "hi": "{when} वाला आपका अपॉइंटमेंट कैंसल हो गया है।",
        "hi-Latn": "{when} wala aapka appointment cancel ho gaya hai.",
        "mr": "{when} असलेली तुमची अपॉइंटमेंट रद्द झाली आहे.",
        "gu": "{when} વાળી તમારી એપોઇન્ટમેન્ટ કેન્સલ થઈ ગઈ છે.",
        "bn": "{when} যে অ্যাপয়েন্টমেন্টটা ছিল, সেটা বাতিল করা হয়েছে।",
        "ta": "{when} இருந்த உங்கள் அப்பாயின்ட்மென்ட் ரத்து செய்யப்பட்டது.",
        "te": "{when} ఉన్న మీ అపాయింట్‌మెంట్ రద్దు అయింది.",
        "ml": "{when} ഉണ്ടായിരുന്ന നിങ്ങളുടെ അപ്പോയിന്റ്മെന്റ് റദ്ദാക്കി.",
    },
    "cancel.done_for": {
        "en": "Cancelled your appointment {when} for {purpose}.",
        "hi": "{when} वाला आपका {purpose} का अपॉइंटमेंट कैंसल हो गया है।",
        "hi-Latn": "{when} wala aapka {purpose} ka appointment cancel ho gaya hai.",
        "mr": "{when} असलेली तुमची {purpose} अपॉइंटमेंट रद्द झाली आहे.",
        "gu": "{when} વાળી તમારી {purpose} એપોઇન્ટમેન્ટ કેન્સલ થઈ ગઈ છે.",
        "bn": "{when} আপনার যে {purpose} ছিল, সেটা বাতিল করা হয়েছে।",
        "ta": "{when} இருந்த உங்கள் {purpose} அப்பாயின்ட்மென்ட் ரத்து செய்யப்பட்டது.",
        "te": "{when} ఉన్న మీ {purpose} అపాయింట్‌మెంట్ రద్దు అయింది.",
        "ml": "{when} ഉണ്ടായിരുന്ന നിങ്ങളുടെ {purpose} അപ്പോയിന്റ്മെന്റ് റദ്ദാക്കി.",
    },
    # ------------------------------------------------------------ the time, remembered facts
    "time.now": {
        "en": "It's {time} on {date}.",
        "hi": "अभी {time}। आज {date} है।",
        "hi-Latn": "Abhi {time}. Aaj {date} hai.",
        "mr": "आता {time}. आज {date} आहे.",
        "gu": "અત્યારે {time}. આજે {date} છે.",
        "bn": "এখন {time}। আজ {date}।",
        "ta": "இப்போது நேரம் {time}. இன்று {date}.",
        "te": "ఇప్పుడు {time} అయింది. ఈరోజు {date}.",
        "ml": "ഇപ്പോൾ സമയം {time}. ഇന്ന് {date}.",
    },
    "recall.name": {
        "en": "Your name is {value}.",
        "hi": "आपका नाम {value} है।",
        "hi-Latn": "Aapka naam {value} hai.",
        "mr": "तुमचं नाव {value} आहे.",
        "gu": "તમારું નામ {value} છે.",
        "bn": "আপনার নাম {value}।",
        "ta": "உங்கள் பெயர் {value}.",
        "te": "మీ పేరు {value}.",
        "ml": "നിങ്ങളുടെ പേര് {value}.",
    },
    "recall.city": {
        "en": "You live in {value}.",
        "hi": "आप {value} में रहते हैं।",
        "hi-Latn": "Aap {value} mein rehte hain.",
        "mr": "तुम्ही {value} मध्ये राहता.",
        "gu": "તમે {value} માં રહો છો.",
        "bn": "আপনি {value}-তে থাকেন।",
        "ta": "நீங்கள் {value}-இல் வசிக்கிறீர்கள்.",
        "te": "మీరు {value} లో ఉంటారు.",
        "ml": "നിങ്ങൾ {value}-ൽ ആണ് താമസിക്കുന്നത്.",
    },
    "recall.other": {
        "en": "Your {key} is {value}.",
        "hi": "आपका {key} {value} है।",
        "hi-Latn": "Aapka {key} {value} hai.",
        "mr": "तुमचं {key} {value} आहे.",
        "gu": "તમારું {key} {value} છે.",
        "bn": "আপনার {key} {value}।",
        "ta": "உங்கள் {key} {value}.",
        "te": "మీ {key} {value}.",
        "ml": "നിങ്ങളുടെ {key} {value}.",
    },
    "recall.ask_name": {
        "en": "I don't know your name yet. What should I call you?",
        "hi": "मुझे अभी आपका नाम नहीं पता। आपको किस नाम से बुलाऊँ?",
        "hi-Latn": "Mujhe abhi aapka naam nahi pata. Aapko kis naam se bulaun?",
        "mr": "मला अजून तुमचं नाव माहीत नाही. तुम्हाला काय म्हणू?",
        "gu": "મને હજી તમારું નામ ખબર નથી. તમને શું કહીને બોલાવું?",
        "bn": "আমি এখনও আপনার নাম জানি না। আপনাকে কী বলে ডাকব?",
        "ta": "உங்கள் பெயர் எனக்கு இன்னும் தெரியாது. உங்களை எப்படி அழைக்கட்டும்?",
        "te": "మీ పేరు నాకు ఇంకా తెలియదు. మిమ్మల్ని ఏమని పిలవాలి?",
        "ml": "എനിക്ക് ഇതുവരെ നിങ്ങളുടെ പേര് അറിയില്ല. നിങ്ങളെ എന്ത് വിളിക്കണം?",
    },
    "recall.unknown_city": {
        "en": "You haven't told me your city yet.",
        "hi": "आपने अभी तक अपना शहर नहीं बताया।",
        "hi-Latn": "Aapne abhi tak apna shehar nahi bataya.",
        "mr": "तुम्ही अजून तुमचं शहर सांगितलं नाही.",
        "gu": "તમે હજી તમારું શહેર કહ્યું નથી.",
        "bn": "আপনি এখনও আপনার শহরের নাম বলেননি।",
        "ta": "நீங்கள் இன்னும் உங்கள் ஊரைச் சொல்லவில்லை.",
        "te": "మీరు ఇంకా మీ ఊరు చెప్పలేదు.",
        "ml": "നിങ്ങൾ ഇതുവരെ നിങ്ങളുടെ സ്ഥലം പറഞ്ഞിട്ടില്ല.",
    },
    "recall.unknown": {
        "en": "You haven't told me your {key} yet.",
        "hi": "आपने अभी तक अपना {key} नहीं बताया।",
        "hi-Latn": "Aapne abhi tak apna {key} nahi bataya.",
        "mr": "तुम्ही अजून तुमचं {key} सांगितलं नाही.",
        "gu": "તમે હજી તમારું {key} કહ્યું નથી.",
        "bn": "আপনি এখনও আপনার {key} বলেননি।",
        "ta": "நீங்கள் இன்னும் உங்கள் {key} சொல்லவில்லை.",
        "te": "మీరు ఇంకా మీ {key} చెప్పలేదు.",
        "ml": "നിങ്ങൾ ഇതുവരെ നിങ്ങളുടെ {key} പറഞ്ഞിട്ടില്ല.",
    },
    # ------------------------------------------------------------ errors and the fallback
    "error.unknown_tool": {
        "en": "Sorry, I can't do that yet.",
        "hi": "माफ़ कीजिए, यह अभी मुमकिन नहीं है।",
        "hi-Latn": "Sorry, yeh abhi possible nahi hai.",
        "mr": "माफ करा, हे सध्या शक्य नाही.",
        "gu": "માફ કરશો, આ હમણાં શક્ય નથી.",
        "bn": "দুঃখিত, এটা এখন করা সম্ভব নয়।",
        "ta": "மன்னிக்கவும், இதை இப்போது செய்ய முடியாது.",
        "te": "క్షమించండి, ఇది ఇప్పుడు చేయలేను.",
        "ml": "ക്ഷമിക്കണം, ഇത് ഇപ്പോൾ ചെയ്യാൻ കഴിയില്ല.",
    },
    "error.tool_failed": {  # the reason stays in the result's data (and reaches a tool-calling LLM)
        "en": "Sorry, I couldn't do that.",
        "hi": "माफ़ कीजिए, यह नहीं हो पाया।",
        "hi-Latn": "Sorry, yeh nahi ho paaya.",
        "mr": "माफ करा, हे होऊ शकलं नाही.",
        "gu": "માફ કરશો, આ થઈ શક્યું નહીં.",
        "bn": "দুঃখিত, এটা করা গেল না।",
        "ta": "மன்னிக்கவும், இதைச் செய்ய முடியவில்லை.",
        "te": "క్షమించండి, ఇది చేయలేకపోయాను.",
        "ml": "ക്ഷമിക്കണം, ഇത് ചെയ്യാൻ കഴിഞ്ഞില്ല.",
    },
    "agent.fallback": {  # the reply when nothing else was said
        "en": "Sorry, I didn't catch that. Could you say it again?",
        "hi": "माफ़ कीजिए, बात ठीक से समझ नहीं आई। एक बार फिर से बोलिए?",
        "hi-Latn": "Sorry, baat theek se samajh nahi aayi. Ek baar phir se boliye?",
        "mr": "माफ करा, नीट समजलं नाही. पुन्हा एकदा सांगाल का?",
        "gu": "માફ કરશો, બરાબર સમજાયું નહીં. ફરી એક વાર કહેશો?",
        "bn": "দুঃখিত, ঠিক বুঝতে পারলাম না। আরেকবার বলবেন?",
        "ta": "மன்னிக்கவும், சரியாகப் புரியவில்லை. இன்னொரு முறை சொல்ல முடியுமா?",
        "te": "క్షమించండి, సరిగ్గా అర్థం కాలేదు. మళ్ళీ ఒకసారి చెప్తారా?",
        "ml": "ക്ഷമിക്കണം, ശരിക്ക് മനസ്സിലായില്ല. ഒന്നുകൂടി പറയാമോ?",
    },
}


def placeholders(template: str) -> set[str]:
    """The {names} a template fills."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def phrase(message_id: str, lang: str | None, sentence: bool = True, **values: object) -> str:
    """The message in the reply language (English where it has none), filled in. The first letter of a
    Latin-script `sentence` is upper-cased ("{when} ke liye ..." → "Kal ..."); a piece of one is not."""
    texts = PHRASES[message_id]
    code = reply_code(lang)
    text = texts.get(code, texts["en"]).format(**values)
    if sentence and code in ("en", "hi-Latn") and text[:1].islower():
        text = text[0].upper() + text[1:]
    return unicodedata.normalize("NFC", text)

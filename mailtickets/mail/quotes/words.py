"""What mail clients write around a reply, as data: one table per kind of line, by language.

A new language or client is a new entry here; the matching code in `lines.py` reads these
tables only. Entries are lower case (matching ignores case) and are regular expressions.
"""

from __future__ import annotations

# The tables are laid out by hand, several short words a line, to be read as tables.
# fmt: off

# "Wrote" at the end of an attribution line: "On <date>, Ana <ana@x> wrote:".
VERBS: dict[str, tuple[str, ...]] = {
    "en": ("wrote", "writes"),
    "pt": ("escreveu",),
    "es": ("escribió", "escribio"),
    "fr": ("a écrit", "a ecrit"),
    "it": ("ha scritto", "scrisse"),
    "de": ("schrieb", "hat geschrieben"),
    "nl": ("schreef", "het volgende geschreven", "heeft geschreven"),
    "pl": (r"napisał\(a\)", "napisał", "napisała", "pisze"),
    "da/no/sv": ("skrev",),
    "fi": ("kirjoitti",),
    "ru": (r"писал\(а\)", "писал", "писала", "пишет", r"написал\(а\)", "написал", "написала"),
    "uk": (r"написав\(ла\)", "написав", "написала", "пише"),
    "ro": ("a scris",),
    "ca": ("va escriure", "ha escrit"),
    "el": ("έγραψε",),
    "zh": ("写道", "寫道"),
    "ja": ("のメール", "のメッセージ", "さんは書きました", "は書きました"),
    "ko": ("님이 작성", "작성"),
    "cs": ("napsal", "napsala", r"napsal\(a\)"),
    "hu": ("írta",),
    "tr": ("şunu yazdı", "yazdı"),
    "id": ("menulis",),
}

# Words an attribution begins with when its verb comes after the name: "Am <date> schrieb Ana:".
OPENERS: dict[str, tuple[str, ...]] = {
    "en": ("on", "at"),
    "pt": ("em", "no dia"),
    "es": ("el",),
    "fr": ("le",),
    "it": ("il giorno", "il", "in data"),
    "de": ("am",),
    "nl": ("op",),
    "pl": ("w dniu", "dnia"),
    "da/no/sv": ("den", "på"),
    "ro": ("pe", "în data de", "in data de"),
    "ca": ("el",),
    "el": ("στις",),
    "zh": ("在",),
    "cs": ("dne",),
    "id": ("pada",),
}

# Verbs followed by the name and a colon: "Den 16. maj 2024 kl. 10.00 skrev Ana <a@x>:".
VERBS_BEFORE_NAME: tuple[str, ...] = (
    "schrieb",
    "schreef",
    "skrev",
    "kirjoitti",
    "pisze",
    "napisał",
    "wrote",
    "escreveu",
    "escribió",
    "ha scritto",
    "a écrit",
)

# Verbs followed by the date: "Ana <a@x> schrieb am Do., 16. Mai 2024 um 10:00:".
VERBS_BEFORE_DATE: tuple[str, ...] = (
    "schrieb am",
    "schreef op",
    "kirjoitti",
    "wrote on",
    "escreveu em",
    "ezt írta",
    "napisana przez",
    "skrev den",
    "skrev",
)

# Outlook's quoted header block: each key, by what it names, in every language we read.
HEADER_KEYS: dict[str, tuple[str, ...]] = {
    "from": (
        "from", "de", "von", "van", "da", "fra", "från", "od", "lähettäjä", "от", "від",
        "de la", "από", "发件人", "寄件者", "差出人", "보낸 사람", "보낸사람", "feladó", "kimden",
        "afzender", "remitente", "expeditor", "odesílatel",
    ),
    "sent": (
        "sent", "envoyé", "envoyé le", "gesendet", "verzonden", "inviato", "inviato il",
        "enviado", "enviado el", "enviado em", "enviada em", "enviada", "enviat", "sendt",
        "skickat", "lähetetty", "wysłano", "wysłane", "wysłany", "отправлено", "надіслано",
        "trimis", "στάλθηκε", "发送时间", "寄件日期", "送信日時", "보낸 날짜", "보낸날짜",
        "elküldve", "gönderildi", "odesláno",
    ),
    "date": (
        "date", "datum", "data", "fecha", "dato", "дата", "päivämäärä", "ημερομηνία", "日期",
        "時間", "日付", "날짜", "tarih", "dátum",
    ),
    "to": (
        "to", "à", "a", "an", "aan", "para", "per a", "til", "till", "do", "vastaanottaja",
        "кому", "către", "catre", "προς", "收件人", "收件者", "宛先", "받는 사람", "받는사람",
        "címzett", "kime", "komu",
    ),
    "cc": (
        "cc", "kopie", "kopi", "kopia", "копия", "копія", "κοιν.", "κοιν", "抄送", "副本",
        "참조", "másolat", "dw", "bilgi",
    ),
    "subject": (
        "subject", "objet", "betreff", "onderwerp", "oggetto", "asunto", "assunto", "assumpte",
        "emne", "ämne", "temat", "aihe", "тема", "subiect", "θέμα", "主题", "主旨", "件名",
        "제목", "tárgy", "konu", "předmět",
    ),
}

# "-----Original Message-----" and its translations; decorations around them vary by client.
SEPARATORS: tuple[str, ...] = (
    "original message", "reply message", "original-nachricht", "ursprüngliche nachricht",
    "antwort nachricht", "oprindelig meddelelse", "oprindelig besked", "opprinnelig melding",
    "ursprungligt meddelande", "alkuperäinen viesti", "oorspronkelijk bericht",
    "origineel bericht", "message d'origine", "message original", "mensaje original",
    "mensagem original", "messaggio originale", "messaggio originale", "wiadomość oryginalna",
    "oryginalna wiadomość", "исходное сообщение", "оригинальное сообщение",
    "оригінальне повідомлення", "вихідне повідомлення", "mesaj original", "mesajul original",
    "missatge original", "αρχικό μήνυμα", "原始邮件", "原始郵件", "原始信件", "元のメッセージ",
    "원본 메시지", "eredeti üzenet", "původní zpráva", "orijinal mesaj", "pesan asli",
)

# Forward markers: what follows is a forwarded mail, which is the point of the message.
FORWARD_MARKERS: tuple[str, ...] = (
    "forwarded message", "mensagem encaminhada", "mensaje reenviado", "message transféré",
    "weitergeleitete nachricht", "doorgestuurd bericht", "videresendt meddelelse",
    "videresendt melding", "vidarebefordrat meddelande", "messaggio inoltrato",
    "wiadomość przekazana", "пересылаемое сообщение", "переслане повідомлення",
    "转发的邮件", "転送されたメッセージ", "전달된 메시지",
)
FORWARD_LINES: tuple[str, ...] = (
    "begin forwarded message:",
    "início da mensagem encaminhada:",
    "inicio del mensaje reenviado:",
    "début du message réexpédié :",
    "début du message réexpédié:",
    "anfang der weitergeleiteten nachricht:",
)

# Mobile and client taglines: a prefix in the client's language, then the device or app.
TAGLINE_PREFIXES: tuple[str, ...] = (
    r"sent (?:from|via|using|with|on)", r"get outlook for", r"download outlook for",
    r"envoyé (?:de|depuis|à partir de|avec)", r"télécharger outlook pour",
    r"obtenir outlook pour", r"von meinem", r"gesendet (?:von|mit|vom|über)",
    r"outlook für \S+ herunterladen", r"enviad[oa] (?:do|de|desde|pelo|a partir do|com)",
    r"obter o outlook para", r"baixe o outlook para", r"obtener outlook para",
    r"inviato (?:da|dal|con)", r"scarica outlook per", r"verzonden (?:vanaf|vanuit|met|via)",
    r"verstuurd (?:vanaf|vanuit|met)", r"outlook voor \S+ downloaden", r"wysłane z",
    r"wysłano z", r"pobierz outlook dla", r"pobierz aplikację outlook",
    r"hent outlook (?:til|for)", r"получить outlook для", r"отримати outlook для",
    r"obțineți outlook pentru", r"λήψη του outlook για", r"從我的", r"sendt fra",
    r"skickat från", r"skickades från",
    r"hämta outlook för", r"få outlook for", r"lähetetty", r"hanki outlook",
    r"отправлено (?:с|из|со)", r"надіслано з", r"trimis de pe", r"trimis din",
    r"enviat des de", r"enviat des del", r"στάλθηκε από", r"从我的", r"发自我的", r"来自我的",
    r"寄自我的", r"odesláno z", r"elküldve", r"dikirim dari",
)
# Lines that end with the device: "Von meinem iPhone gesendet", "iPhoneから送信".
TAGLINE_SUFFIXES: tuple[str, ...] = (
    r"gesendet", r"verzonden", r"から送信", r"에서 보냄", r"에서 보냈습니다", r"发送", r"發送",
    r"gönderildi", r"傳送", r"を入手",
)
# A tagline names a device or a mail app; "Sent from my desk, ..." names neither.
DEVICES: tuple[str, ...] = (
    "iphone", "ipad", "ipod", "apple watch", "android", "samsung", "galaxy", "huawei",
    "honor", "xiaomi", "redmi", "oneplus", "pixel", "nokia", "blackberry", "motorola", "moto",
    "sony", "xperia", "oppo", "vivo", "realme", "lg", "htc", "mobile", "móvil", "movil",
    "smartphone", "phone", "telefon", "téléphone", "telefone", "telefono", "teléfono",
    "telefoon", "tablet", "tablette", "handy", "celular", "cellulare", "portable", "mobil",
    "mobiel", "outlook", "yahoo", "gmail", "aol", "mail for windows", "windows mail",
    "mail für windows", "windows", "proton", "tutanota", "gmx", "web.de", "mail.ru", "почты",
    "яндекс",
    "yandex", "spark", "bluemail", "blue mail", "airmail", "edison", "superhuman",
    "thunderbird", "zoho", "fairemail", "k-9", "newton", "hey", "телефон", "смартфон",
    "手机", "手機", "iphone", "华为", "小米", "网易", "qq", "wps", "スマートフォン", "携帯",
    "갤럭시", "아이폰", "휴대폰", "모바일", "κινητό", "mobiltelefon", "comodo", "samsunga",
    "iphonu", "iphonesta", "ipadista", "puhelimesta", "telèfon", "mòbil", "dispositivo", "appareil",
)

# Sign-offs that open a signature: only when a name (and maybe a title) is all that follows.
SIGN_OFFS: dict[str, tuple[str, ...]] = {
    "en": (
        "regards", "best regards", "kind regards", "warm regards", "kindest regards",
        "many thanks", "thanks", "thank you", "thanks in advance", "thanks again", "best",
        "all the best", "best wishes", "cheers", "sincerely", "yours sincerely",
        "yours truly", "yours", "br", "rgds", "thx", "cordially", "respectfully",
    ),
    "pt": (
        "atenciosamente", "att", "att.", "abraços", "abraço", "abs", "obrigado", "obrigada",
        "muito obrigado", "muito obrigada", "cumprimentos", "saudações", "grato", "grata",
        "cordialmente", "um abraço", "melhores cumprimentos",
    ),
    "es": (
        "saludos", "un saludo", "saludos cordiales", "atentamente", "gracias",
        "muchas gracias", "un abrazo", "cordialmente",
    ),
    "fr": (
        "cordialement", "bien cordialement", "bien à vous", "merci", "merci beaucoup",
        "salutations", "sincères salutations", "bonne journée", "amicalement", "bien à toi",
    ),
    "de": (
        "mit freundlichen grüßen", "mit freundlichen grüssen", "freundliche grüße",
        "freundliche grüsse", "viele grüße", "viele grüsse", "beste grüße", "liebe grüße",
        "schöne grüße", "gruß", "grüße", "gruss", "mfg", "lg", "vg", "danke", "vielen dank",
        "mit freundlichen gruessen", "viele gruesse", "liebe gruesse", "beste gruesse",
    ),
    "nl": (
        "met vriendelijke groet", "met vriendelijke groeten", "vriendelijke groet", "groeten",
        "groet", "mvg", "hartelijke groet", "bedankt", "alvast bedankt",
    ),
    "it": ("cordiali saluti", "saluti", "distinti saluti", "un saluto", "grazie", "grazie mille"),
    "pl": ("pozdrawiam", "z poważaniem", "serdecznie pozdrawiam", "dziękuję", "pozdrowienia"),
    "da/no/sv": (
        "med venlig hilsen", "venlig hilsen", "med vennlig hilsen", "vennlig hilsen",
        "med vänliga hälsningar", "vänliga hälsningar", "vänlig hälsning", "hälsningar",
        "hilsen", "mvh", "de bedste hilsner", "tak", "takk", "tack",
    ),
    "fi": ("ystävällisin terveisin", "terveisin", "kiitos", "parhain terveisin"),
    "ru": ("с уважением", "спасибо", "всего доброго", "с наилучшими пожеланиями"),
    "uk": ("з повагою", "дякую", "з найкращими побажаннями"),
    "ro": ("cu stimă", "cu stima", "cu respect", "mulțumesc", "multumesc", "toate cele bune"),
    "ca": ("salutacions", "cordialment", "gràcies", "moltes gràcies"),
    "el": ("με εκτίμηση", "ευχαριστώ", "φιλικά", "με φιλικούς χαιρετισμούς"),
    "zh": ("谢谢", "此致", "祝好", "顺祝商祺", "此致敬礼"),
    "ja": ("よろしくお願いいたします", "よろしくお願いします", "宜しくお願い致します"),
    "ko": ("감사합니다", "수고하세요"),
    "cs": ("s pozdravem", "děkuji"),
    "hu": ("üdvözlettel", "köszönöm"),
    "tr": ("saygılarımla", "teşekkürler"),
}

# Footers that mailing-list managers append to every post.
LIST_FOOTERS: tuple[str, ...] = (
    r"mailing list",
    r"to unsubscribe",
    r"you received this message because you are subscribed",
    r"you are receiving this because",
    r"reply to this email directly",
    r"/listinfo",
    r"unsubscribe:",
)
# fmt: on

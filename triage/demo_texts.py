"""The words of the synthetic demo at scale (``triage demo --reports N``): places, names, and the
sentences its invented articles, posts and caseworkers' narratives are assembled from, in
Russian, Kazakh and English.

Pure data. Every sentence is invented; the names are common ones put together at random, so any
likeness to a real person is chance. A sentence carries the incident categories it describes and
the risk-checklist items (their numbers in ``triage/checklists/v1.json``) it gives grounds for,
so that what a reviewer later answers agrees with what the report says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .vocab import Region, Relationship


@dataclass(frozen=True)
class Piece:
    """One sentence with ``{slots}``: the categories it reports and the checklist items it backs."""

    text: str
    categories: tuple[str, ...] = ()
    items: tuple[int, ...] = ()


@dataclass(frozen=True)
class Incident:
    """What happened, as a headline and as a sentence of an article or a narrative."""

    headline: str
    sentence: str
    categories: tuple[str, ...]
    items: tuple[int, ...] = ()
    #: How often it is picked, relative to the others.
    weight: int = 10


@dataclass(frozen=True)
class Place:
    """A region with its relative population (thousands) and its towns in three languages."""

    region: Region
    population: int
    towns: tuple[tuple[str, str, str], ...]  # (Russian, Kazakh, English)


PLACES: tuple[Place, ...] = (
    Place(Region.ALMATY, 2230, (("Алматы", "Алматы", "Almaty"),)),
    Place(Region.ASTANA, 1420, (("Астана", "Астана", "Astana"),)),
    Place(Region.SHYMKENT, 1230, (("Шымкент", "Шымкент", "Shymkent"),)),
    Place(
        Region.TURKISTAN,
        2110,
        (("Туркестан", "Түркістан", "Turkistan"), ("Кентау", "Кентау", "Kentau")),
    ),
    Place(
        Region.ALMATY_REGION,
        1530,
        (("Конаев", "Қонаев", "Konaev"), ("Каскелен", "Қаскелең", "Kaskelen")),
    ),
    Place(Region.JAMBYL, 1220, (("Тараз", "Тараз", "Taraz"), ("Шу", "Шу", "Shu"))),
    Place(
        Region.KARAGANDA,
        1130,
        (
            ("Караганда", "Қарағанды", "Karaganda"),
            ("Темиртау", "Теміртау", "Temirtau"),
            ("Балхаш", "Балқаш", "Balkhash"),
        ),
    ),
    Place(Region.AKTOBE, 930, (("Актобе", "Ақтөбе", "Aktobe"), ("Хромтау", "Хромтау", "Khromtau"))),
    Place(
        Region.KOSTANAY, 830, (("Костанай", "Қостанай", "Kostanay"), ("Рудный", "Рудный", "Rudny"))
    ),
    Place(
        Region.KYZYLORDA, 830, (("Кызылорда", "Қызылорда", "Kyzylorda"), ("Арал", "Арал", "Aral"))
    ),
    Place(Region.AKMOLA, 790, (("Кокшетау", "Көкшетау", "Kokshetau"),)),
    Place(
        Region.MANGYSTAU, 780, (("Актау", "Ақтау", "Aktau"), ("Жанаозен", "Жаңаөзен", "Zhanaozen"))
    ),
    Place(
        Region.PAVLODAR,
        750,
        (("Павлодар", "Павлодар", "Pavlodar"), ("Экибастуз", "Екібастұз", "Ekibastuz")),
    ),
    Place(
        Region.EAST_KAZAKHSTAN,
        730,
        (("Усть-Каменогорск", "Өскемен", "Oskemen"), ("Риддер", "Риддер", "Ridder")),
    ),
    Place(Region.ATYRAU, 700, (("Атырау", "Атырау", "Atyrau"), ("Кульсары", "Құлсары", "Kulsary"))),
    Place(
        Region.JETISU,
        690,
        (("Талдыкорган", "Талдықорған", "Taldykorgan"), ("Жаркент", "Жаркент", "Zharkent")),
    ),
    Place(Region.WEST_KAZAKHSTAN, 690, (("Уральск", "Орал", "Oral"), ("Аксай", "Ақсай", "Aksai"))),
    Place(Region.ABAI, 600, (("Семей", "Семей", "Semey"), ("Аягоз", "Аягөз", "Ayagoz"))),
    Place(Region.NORTH_KAZAKHSTAN, 530, (("Петропавловск", "Петропавл", "Petropavl"),)),
    Place(
        Region.ULYTAU,
        220,
        (("Жезказган", "Жезқазған", "Zhezkazgan"), ("Сатпаев", "Сәтбаев", "Satpaev")),
    ),
)

# -- people ------------------------------------------------------------------------------------

WOMEN = (
    "Айгерим", "Айгуль", "Асель", "Динара", "Жанар", "Гульнара", "Мадина", "Сауле", "Дана",
    "Алия", "Аружан", "Камила", "Назерке", "Жансая", "Ботагоз", "Гульмира", "Салтанат",
    "Меруерт", "Айжан", "Индира", "Карлыгаш", "Лаура", "Томирис", "Зарина", "Жулдыз",
    "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана", "Анастасия", "Юлия", "Марина",
)  # fmt: skip
MEN = (
    "Ерлан", "Нурлан", "Серик", "Асхат", "Бауыржан", "Данияр", "Ержан", "Канат", "Марат",
    "Руслан", "Тимур", "Айдос", "Азамат", "Дастан", "Арман", "Болат", "Галым", "Жандос",
    "Сергей", "Андрей", "Дмитрий", "Алексей", "Игорь", "Виктор", "Павел",
)  # fmt: skip
#: Family names in their masculine form; the feminine adds "а" (Ахметов, Ахметова).
FAMILY_NAMES = (
    "Ахметов", "Бекенов", "Жумабаев", "Нурланов", "Омаров", "Сейткалиев", "Касымов",
    "Абдрахманов", "Искаков", "Серикбаев", "Тулегенов", "Мухамедиев", "Есенов", "Байжанов",
    "Кенжебаев", "Сулейменов", "Утегенов", "Жакупов", "Ермеков", "Садыков", "Калиев",
    "Мусин", "Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Васильев", "Морозов",
)  # fmt: skip

#: Cyrillic to Latin as people type names in Latin letters (Айгерим → Aigerim).
LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
    "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip

STREETS = (
    "Абая", "Сатпаева", "Жамбыла", "Республики", "Строителей", "Мира", "Гоголя", "Пушкина",
    "Кабанбай батыра", "Толе би", "Байтурсынова", "Ауэзова", "Сейфуллина", "Амангельды",
)  # fmt: skip

#: The mobile operators' codes of Kazakhstan's +7 7XX numbers.
MOBILE_CODES = ("700", "701", "702", "705", "707", "708", "747", "771", "775", "776", "777", "778")

# -- sources -----------------------------------------------------------------------------------

#: Invented outlets: (name, host, language). Regional ones are made per town (``{town}``).
OUTLETS = (
    ("Dala News", "dala-news.example.kz", "en"),
    ("Степной вестник", "stepnoy-vestnik.example.kz", "ru"),
    ("Вечерний город", "vecherniy-gorod.example.kz", "ru"),
    ("Ел хабары", "el-habary.example.kz", "kk"),
    ("Қазақ күні", "qazaq-kuni.example.kz", "kk"),
    ("Новости региона", "novosti-regiona.example.kz", "ru"),
)
#: Platforms and how often a post comes from each.
PLATFORMS = (
    ("telegram", 30),
    ("instagram", 24),
    ("tiktok", 10),
    ("facebook", 8),
    ("forum", 8),
    ("whatsapp", 5),
    ("vk", 5),
    ("x", 3),
    ("threads", 4),
    ("youtube", 3),
)
HANDLE_WORDS = (
    "sosedka", "mama", "qyz", "aru", "zhan", "sunny", "kz", "halyk", "dala", "aqzhan",
    "tomiris", "bota", "kitty", "nur", "ai", "zhuldyz", "astana", "city", "life", "news",
)  # fmt: skip

# -- relationships as the sentences name them ---------------------------------------------------

#: (nominative, instrumental) in Russian; (nominative, "with") in Kazakh; English.
RELATION_WORDS: Mapping[str, Mapping[Relationship, tuple[str, str]]] = {
    "ru": {
        Relationship.SPOUSE: ("муж", "мужем"),
        Relationship.FORMER_SPOUSE: ("бывший муж", "бывшим мужем"),
        Relationship.PARTNER: ("сожитель", "сожителем"),
        Relationship.FORMER_PARTNER: ("бывший сожитель", "бывшим сожителем"),
        Relationship.COMMON_CHILD: ("отец её ребёнка", "отцом её ребёнка"),
        Relationship.ADULT_CHILD: ("сын", "сыном"),
        Relationship.SIBLING: ("брат", "братом"),
        Relationship.PARENT: ("отец", "отцом"),
        Relationship.IN_LAW: ("свёкор", "свёкром"),
        Relationship.OTHER_RELATIVE: ("родственник", "родственником"),
    },
    "kk": {
        Relationship.SPOUSE: ("күйеуі", "күйеуімен"),
        Relationship.FORMER_SPOUSE: ("бұрынғы күйеуі", "бұрынғы күйеуімен"),
        Relationship.PARTNER: ("бірге тұратын серігі", "бірге тұратын серігімен"),
        Relationship.FORMER_PARTNER: ("бұрынғы серігі", "бұрынғы серігімен"),
        Relationship.COMMON_CHILD: ("баласының әкесі", "баласының әкесімен"),
        Relationship.ADULT_CHILD: ("ұлы", "ұлымен"),
        Relationship.SIBLING: ("ағасы", "ағасымен"),
        Relationship.PARENT: ("әкесі", "әкесімен"),
        Relationship.IN_LAW: ("қайын атасы", "қайын атасымен"),
        Relationship.OTHER_RELATIVE: ("туысы", "туысымен"),
    },
    "en": {
        Relationship.SPOUSE: ("her husband", "her husband"),
        Relationship.FORMER_SPOUSE: ("her former husband", "her former husband"),
        Relationship.PARTNER: ("her partner", "her partner"),
        Relationship.FORMER_PARTNER: ("her former partner", "her former partner"),
        Relationship.COMMON_CHILD: ("the father of her child", "the father of her child"),
        Relationship.ADULT_CHILD: ("her son", "her son"),
        Relationship.SIBLING: ("her brother", "her brother"),
        Relationship.PARENT: ("her father", "her father"),
        Relationship.IN_LAW: ("her father-in-law", "her father-in-law"),
        Relationship.OTHER_RELATIVE: ("a relative", "a relative"),
    },
}
#: How often each relationship is the one reported.
RELATIONSHIPS = (
    (Relationship.SPOUSE, 44),
    (Relationship.FORMER_SPOUSE, 14),
    (Relationship.PARTNER, 14),
    (Relationship.FORMER_PARTNER, 5),
    (Relationship.ADULT_CHILD, 8),
    (Relationship.SIBLING, 4),
    (Relationship.COMMON_CHILD, 4),
    (Relationship.PARENT, 3),
    (Relationship.IN_LAW, 2),
    (Relationship.OTHER_RELATIVE, 2),
)

# -- incidents: a headline for an article, a sentence for an article or a narrative ------------
# Slots: {town}, {age}, {rel} (the relationship, nominative), {Rel} (capitalised).

INCIDENTS: Mapping[str, tuple[Incident, ...]] = {
    "ru": (
        Incident(
            "В городе {town} мужчина избил {age}-летнюю женщину",
            "{Rel} избил её во время ссоры, несколько раз ударил по лицу.",
            ("battery",),
            weight=18,
        ),
        Incident(
            "Жительница города {town} обратилась в полицию после побоев",
            "{Rel} избил её, медики зафиксировали ушибы и ссадины.",
            ("battery", "minor_harm"),
            weight=14,
        ),
        Incident(
            "В городе {town} женщина попала в больницу после избиения",
            "{Rel} жестоко избил её: у женщины переломы и сотрясение мозга, она в больнице.",
            ("battery", "serious_harm"),
            (10,),
            weight=5,
        ),
        Incident(
            "В городе {town} мужчина угрожал женщине ножом",
            "Во время ссоры {rel} схватил нож и угрожал убить её.",
            ("threat",),
            (1, 3),
            weight=8,
        ),
        Incident(
            "Жительница города {town} заявила, что её душили",
            "{Rel} душил её и кричал, что убьёт, если она уйдёт.",
            ("battery", "threat"),
            (1, 2, 6),
            weight=5,
        ),
        Incident(
            "В городе {town} женщина пожаловалась на преследование",
            "{Rel} уже несколько месяцев преследует её: караулит у работы, звонит и пишет "
            "по ночам.",
            ("persecution",),
            (8,),
            weight=9,
        ),
        Incident(
            "Жительница города {town} рассказала об экономическом насилии",
            "{Rel} отбирает у неё зарплату, прячет её документы и не даёт денег на детей.",
            ("economic",),
            (17,),
            weight=6,
        ),
        Incident(
            "В городе {town} женщина рассказала о годах унижений",
            "{Rel} постоянно унижает её, запрещает видеться с родными и проверяет телефон.",
            ("psychological",),
            (17, 18),
            weight=9,
        ),
        Incident(
            "В городе {town} мужчина ранил женщину ножом",
            "{Rel} нанёс ей несколько ножевых ранений, женщина в реанимации.",
            ("killing", "serious_harm"),
            (3, 10, 12),
            weight=2,
        ),
        Incident(
            "В городе {town} начато расследование о сексуальном насилии в семье",
            "{Rel} принуждал её к близости и угрожал расправой, если она расскажет.",
            ("sexual_violence", "threat"),
            (9,),
            weight=2,
        ),
        Incident(
            "В городе {town} мужчина избил женщину и ребёнка",
            "{Rel} избил её на глазах у детей, досталось и старшему сыну.",
            ("battery", "children"),
            (14, 19),
            weight=6,
        ),
        Incident(
            "В городе {town} мужчина угрожал женщине ружьём",
            "{Rel} угрожал ей охотничьим ружьём и обещал застрелить.",
            ("threat",),
            (1, 3, 4),
            weight=2,
        ),
        Incident(
            "В городе {town} мужчина нарушил защитное предписание",
            "Несмотря на защитное предписание, {rel} снова пришёл к ней домой и угрожал.",
            ("threat", "persecution"),
            (8, 11),
            weight=3,
        ),
    ),
    "kk": (
        Incident(
            "{town} қаласында ер адам {age} жастағы әйелді ұрып-соққан",
            "{Rel} ұрыс кезінде оны бірнеше рет бетінен ұрған.",
            ("battery",),
            weight=18,
        ),
        Incident(
            "{town} қаласының тұрғыны соққыдан кейін полицияға жүгінді",
            "{Rel} оны ұрып-соққан, дәрігерлер денесіндегі көгерген жерлерді тіркеді.",
            ("battery", "minor_harm"),
            weight=14,
        ),
        Incident(
            "{town} қаласында ұрып-соғылған әйел ауруханаға түсті",
            "{Rel} оны қатты ұрып-соққан: әйелдің сүйегі сынып, миы шайқалған, ол ауруханада.",
            ("battery", "serious_harm"),
            (10,),
            weight=5,
        ),
        Incident(
            "{town} қаласында ер адам әйелді пышақпен қорқытқан",
            "Ұрыс кезінде {rel} пышақ алып, оны өлтіремін деп қорқытқан.",
            ("threat",),
            (1, 3),
            weight=8,
        ),
        Incident(
            "{town} қаласында әйелді тұншықтырмақ болған ер адам ұсталды",
            "{Rel} оны тұншықтырып, кетсең өлтіремін деп айқайлаған.",
            ("battery", "threat"),
            (1, 2, 6),
            weight=5,
        ),
        Incident(
            "{town} қаласында әйел аңдудан шағымданды",
            "{Rel} бірнеше ай бойы оны аңдып жүр: жұмысының алдында күтіп, түнде хабарлама жазады.",
            ("persecution",),
            (8,),
            weight=9,
        ),
        Incident(
            "{town} қаласының тұрғыны отбасындағы экономикалық зорлық туралы айтты",
            "{Rel} оның жалақысын тартып алып, құжаттарын жасырады, балаларға ақша бермейді.",
            ("economic",),
            (17,),
            weight=6,
        ),
        Incident(
            "{town} қаласында әйел отбасындағы қорлық туралы айтты",
            "{Rel} оны үнемі қорлап, туыстарымен көрісуге тыйым салады, телефонын тексереді.",
            ("psychological",),
            (17, 18),
            weight=9,
        ),
        Incident(
            "{town} қаласында ер адам әйелді пышақпен жаралады",
            "{Rel} оны пышақпен бірнеше рет жаралаған, әйел жансақтау бөлімінде жатыр.",
            ("killing", "serious_harm"),
            (3, 10, 12),
            weight=2,
        ),
        Incident(
            "{town} қаласында отбасындағы жыныстық зорлық бойынша тергеу басталды",
            "{Rel} оны күштеп жыныстық қатынасқа мәжбүрлеп, ешкімге айтсаң өлтіремін деп "
            "қорқытқан.",
            ("sexual_violence", "threat"),
            (1, 9),
            weight=2,
        ),
        Incident(
            "{town} қаласында ер адам әйелі мен баласын ұрған",
            "{Rel} оны балалардың көзінше ұрып, үлкен ұлына да қол көтерген.",
            ("battery", "children"),
            (14, 19),
            weight=6,
        ),
        Incident(
            "{town} қаласында ер адам әйелді мылтықпен қорқытқан",
            "{Rel} оны аңшы мылтығымен қорқытып, атып өлтіремін деген.",
            ("threat",),
            (1, 3, 4),
            weight=2,
        ),
        Incident(
            "{town} қаласында ер адам қорғау нұсқамасын бұзды",
            "Қорғау нұсқамасына қарамастан, {rel} оның үйіне тағы келіп, қорқытқан.",
            ("threat", "persecution"),
            (8, 11),
            weight=3,
        ),
    ),
    "en": (
        Incident(
            "Woman, {age}, beaten at home in {town}",
            "{Rel} beat her during an argument, hitting her in the face several times.",
            ("battery",),
            weight=18,
        ),
        Incident(
            "{town} woman goes to the police after a beating",
            "{Rel} beat her; doctors recorded bruises and abrasions.",
            ("battery", "minor_harm"),
            weight=14,
        ),
        Incident(
            "{town} woman in hospital after a beating at home",
            "{Rel} beat her so badly that she has broken bones and a concussion; she is in "
            "hospital.",
            ("battery", "serious_harm"),
            (10,),
            weight=5,
        ),
        Incident(
            "Man threatened a woman with a knife in {town}",
            "During a row {rel} grabbed a knife and threatened to kill her.",
            ("threat",),
            (1, 3),
            weight=8,
        ),
        Incident(
            "{town} woman says she was strangled at home",
            "{Rel} choked her and shouted that he would kill her if she left.",
            ("battery", "threat"),
            (1, 2, 6),
            weight=5,
        ),
        Incident(
            "{town} woman reports being stalked",
            "For months {rel} has been stalking her: he waits outside her work and messages "
            "her at night.",
            ("persecution",),
            (8,),
            weight=9,
        ),
        Incident(
            "{town} woman speaks of economic abuse at home",
            "{Rel} takes her wages, hides her documents and gives her no money for the children.",
            ("economic",),
            (17,),
            weight=6,
        ),
        Incident(
            "{town} woman tells of years of humiliation at home",
            "{Rel} humiliates her constantly, forbids her to see her family and checks her phone.",
            ("psychological",),
            (17, 18),
            weight=9,
        ),
        Incident(
            "Woman stabbed at home in {town}",
            "{Rel} stabbed her several times; she is in intensive care.",
            ("killing", "serious_harm"),
            (3, 10, 12),
            weight=2,
        ),
        Incident(
            "Investigation into sexual violence in a family opened in {town}",
            "{Rel} forced her into sex and threatened to hurt her if she told anyone.",
            ("sexual_violence", "threat"),
            (9,),
            weight=2,
        ),
        Incident(
            "Man beat a woman and a child in {town}",
            "{Rel} beat her in front of the children and hit their eldest son too.",
            ("battery", "children"),
            (14, 19),
            weight=6,
        ),
        Incident(
            "Man threatened a woman with a rifle in {town}",
            "{Rel} threatened her with a hunting rifle and said he would shoot her.",
            ("threat",),
            (1, 3, 4),
            weight=2,
        ),
        Incident(
            "Man breaches a protective order in {town}",
            "Despite a protective order, {rel} came to her home again and threatened her.",
            ("threat", "persecution"),
            (8, 11),
            weight=3,
        ),
    ),
}

#: Facts around the incident: each backs checklist items (and, for children, a category).
CONTEXT: Mapping[str, tuple[Piece, ...]] = {
    "ru": (
        Piece("Всё произошло на глазах у детей.", ("children",), (14,)),
        Piece("Соседи услышали крики и вызвали полицию."),
        Piece("Полиция уже выезжала по этому адресу раньше.", (), (13,)),
        Piece("Мужчина был пьян.", (), (15,)),
        Piece("Пострадавшая на шестом месяце беременности.", (), (7,)),
        Piece("Недавно она подала на развод и переехала к матери.", (), (6,)),
        Piece("По словам соседей, скандалы в семье случаются всё чаще.", (), (5,)),
        Piece("Мужчина нигде не работает.", (), (21,)),
        Piece("Он ревнует её ко всем и говорит, что не отпустит.", (), (22,)),
        Piece("Женщина говорит, что боится за свою жизнь.", (), (12,)),
        Piece("Он грозил покончить с собой, если она уйдёт.", (), (16,)),
    ),
    "kk": (
        Piece("Бәрі балалардың көзінше болған.", ("children",), (14,)),
        Piece("Көршілері айқайды естіп, полиция шақырған."),
        Piece("Полиция бұл мекенжайға бұрын да барған.", (), (13,)),
        Piece("Ер адам мас болған.", (), (15,)),
        Piece("Зардап шеккен әйел алты айлық жүкті.", (), (7,)),
        Piece("Жақында ол ажырасуға арыз беріп, анасының үйіне көшкен.", (), (6,)),
        Piece("Көршілерінің айтуынша, отбасындағы жанжал жиілеп барады.", (), (5,)),
        Piece("Ер адам еш жерде жұмыс істемейді.", (), (21,)),
        Piece("Ол әйелді бәрінен қызғанып, жібермеймін дейді.", (), (22,)),
        Piece("Әйел өз өміріне қорқатынын айтады.", (), (12,)),
        Piece("Ол кетсе, өзін-өзі өлтіремін деп қорқытқан.", (), (16,)),
    ),
    "en": (
        Piece("It all happened in front of the children.", ("children",), (14,)),
        Piece("Neighbours heard the screams and called the police."),
        Piece("The police had been called to the address before.", (), (13,)),
        Piece("The man was drunk.", (), (15,)),
        Piece("She is six months pregnant.", (), (7,)),
        Piece("She recently filed for divorce and moved to her mother's.", (), (6,)),
        Piece("Neighbours say the rows are getting more frequent.", (), (5,)),
        Piece("The man has no job.", (), (21,)),
        Piece("He is jealous of everyone and says he will not let her go.", (), (22,)),
        Piece("She says she fears for her life.", (), (12,)),
        Piece("He threatened to kill himself if she left.", (), (16,)),
    ),
}

#: How an article opens ({town}, {age}), how it attributes, and how it ends.
INTROS = {
    "ru": (
        "В городе {town} в полицию обратилась {age}-летняя женщина.",
        "В городе {town} {age}-летняя женщина пострадала от домашнего насилия.",
        "Жительница города {town}, {age} лет, обратилась за помощью.",
    ),
    "kk": (
        "{town} қаласында {age} жастағы әйел полицияға жүгінді.",
        "{town} қаласының {age} жастағы тұрғыны тұрмыстық зорлық-зомбылықтан зардап шекті.",
    ),
    "en": (
        "A {age}-year-old woman in {town} has gone to the police.",
        "A {age}-year-old woman in {town} was hurt in domestic violence, police said.",
    ),
}
ATTRIBUTIONS = {
    "ru": ("По её словам, ", "По данным полиции, ", ""),
    "kk": ("Оның айтуынша, ", "Полицияның мәліметінше, ", ""),
    "en": ("She says ", "According to the police, ", ""),
}
OUTCOMES = {
    "ru": (
        "Мужчина задержан, начато досудебное расследование.",
        "Полиция вынесла защитное предписание.",
        "На мужчину составлен административный протокол.",
        "Пострадавшую с детьми разместили в кризисном центре.",
        "Полиция проводит проверку.",
    ),
    "kk": (
        "Ер адам ұсталып, сотқа дейінгі тергеу басталды.",
        "Полиция қорғау нұсқамасын шығарды.",
        "Ер адамға әкімшілік хаттама толтырылды.",
        "Зардап шеккен әйел балаларымен дағдарыс орталығына орналастырылды.",
        "Полиция тексеріс жүргізіп жатыр.",
    ),
    "en": (
        "The man was detained and a pre-trial investigation opened.",
        "The police issued a protective order.",
        "An administrative case was opened against the man.",
        "The woman and her children were placed in a crisis centre.",
        "The police are looking into it.",
    ),
}

# -- online posts: colloquial, first person or a witness's -------------------------------------

POSTS: Mapping[str, tuple[Piece, ...]] = {
    "ru": (
        Piece(
            "Соседку за стеной опять бьёт муж, слышно как она кричит, дети плачут.",
            ("battery", "children"),
            (14,),
        ),
        Piece(
            "Подруга боится идти домой: бывший муж караулит её у подъезда и угрожает.",
            ("persecution", "threat"),
            (8,),
        ),
        Piece(
            "Сестру избил сожитель, вся в синяках, лежит в больнице.",
            ("battery", "minor_harm"),
            (10,),
        ),
        Piece(
            "Муж забирает все деньги, не выпускает меня из дома, проверяет телефон.",
            ("economic", "psychological"),
            (17, 18),
        ),
        Piece("Сосед опять напился и гоняет жену с ножом по двору.", ("threat",), (3, 15)),
        Piece("Муж сказал, что убьёт меня, если я подам на развод.", ("threat",), (1, 6)),
        Piece("Мою маму бьёт мой брат, он пьёт каждый день.", ("battery",), (15,)),
        Piece("Бывший муж душил меня на глазах у детей.", ("battery", "children"), (2, 14)),
        Piece("Он унижает меня при всех и говорит, что я никто без него.", ("psychological",)),
    ),
    "kk": (
        Piece(
            "Көршіміздің күйеуі әйелін тағы ұрып жатыр, айқайы естіледі, балалар жылап жатыр.",
            ("battery", "children"),
            (14,),
        ),
        Piece(
            "Құрбым үйге қайтуға қорқады: бұрынғы күйеуі подъезд алдында аңдып, қорқытады.",
            ("persecution", "threat"),
            (8,),
        ),
        Piece(
            "Әпкемді бірге тұратын жігіті ұрып-соққан, денесі көгеріп кеткен, ауруханада жатыр.",
            ("battery", "minor_harm"),
            (10,),
        ),
        Piece(
            "Күйеуім барлық ақшаны алып қояды, үйден шығармайды, телефонымды тексереді.",
            ("economic", "psychological"),
            (17, 18),
        ),
        Piece("Көршіміз тағы мас болып, әйелін пышақпен қуып жүр.", ("threat",), (3, 15)),
        Piece("Күйеуім ажырасуға арыз берсең, өлтіремін деді.", ("threat",), (1, 6)),
        Piece("Анамды ағам ұрады, ол күнде ішеді.", ("battery",), (15,)),
        Piece(
            "Бұрынғы күйеуім балалардың көзінше мені тұншықтырды.", ("battery", "children"), (2, 14)
        ),
    ),
    "mixed": (
        Piece(
            "Көршім тағы ұрып жатыр әйелін, кричит на весь подъезд, балалар жылап тұр.",
            ("battery", "children"),
            (14,),
        ),
        Piece(
            "Апайымды күйеуі избил вчера, қазір ауруханада, вся в синяках.",
            ("battery", "minor_harm"),
            (10,),
        ),
        Piece(
            "Бывший муж подругамды аңдып жүр, каждый день у подъезда стоит, қорқытады.",
            ("persecution", "threat"),
            (8,),
        ),
        Piece(
            "Күйеуі опять пьяный, пышақпен угрожает, балалар үйде.",
            ("threat", "children"),
            (3, 14, 15),
        ),
        Piece("Ол маған если уйдёшь, өлтіремін деді.", ("threat",), (1, 6)),
    ),
    "en": (
        Piece(
            "My neighbour's husband is beating her again, we can hear her screaming and the "
            "kids crying.",
            ("battery", "children"),
            (14,),
        ),
        Piece(
            "My friend is afraid to go home: her ex waits outside her building and threatens her.",
            ("persecution", "threat"),
            (8,),
        ),
        Piece(
            "My sister's partner beat her up, she is covered in bruises and in hospital.",
            ("battery", "minor_harm"),
            (10,),
        ),
        Piece(
            "My husband takes all the money, won't let me leave the house and checks my phone.",
            ("economic", "psychological"),
            (17, 18),
        ),
        Piece("He said he will kill me if I file for divorce.", ("threat",), (1, 6)),
    ),
}
POST_OPENERS = {
    "ru": ("Люди, что делать?", "Помогите советом.", "Пишу анонимно.", "{town}, помогите!", ""),
    "kk": ("Адамдар, не істеу керек?", "Кеңес беріңіздерші.", "{town}, көмектесіңдер!", ""),
    "mixed": ("Кеңес беріңізші, что делать?", "Помогите, көмектесіңдер!", "{town},", ""),
    "en": ("Please, what should I do?", "Posting anonymously.", "{town}, please help!", ""),
}
POST_CLOSERS: Mapping[str, tuple[Piece, ...]] = {
    "ru": (
        Piece("Полицию вызывали уже несколько раз.", (), (13,)),
        Piece("Куда обращаться?"),
        Piece("Заявление писать боится."),
        Piece("Вызвали 102."),
        Piece(""),
    ),
    "kk": (
        Piece("Полицияны бірнеше рет шақырдық.", (), (13,)),
        Piece("Қайда жүгіну керек?"),
        Piece("Арыз жазуға қорқады."),
        Piece(""),
    ),
    "mixed": (Piece("Полицияға звонили уже.", (), (13,)), Piece("Қайда обращаться?"), Piece("")),
    "en": (
        Piece("Police came twice already.", (), (13,)),
        Piece("Where can she get help?"),
        Piece("She is afraid to report it."),
        Piece(""),
    ),
}

# -- direct reports: the caseworker's narrative -----------------------------------------------

#: How a narrative opens, by who reported (``ReporterKind`` values).
NARRATIVE_OPENERS: Mapping[str, Mapping[str, str]] = {
    "ru": {
        "victim": "Со слов заявительницы, ",
        "relative": "Со слов родственницы пострадавшей, ",
        "neighbour": "Со слов соседки, ",
        "witness": "Со слов очевидца, ",
        "professional": "Со слов врача приёмного отделения, ",
        "anonymous": "Анонимный звонок на линию 111: ",
    },
    "kk": {
        "victim": "Өтініш берушінің айтуынша, ",
        "relative": "Зардап шеккеннің туысының айтуынша, ",
        "neighbour": "Көршісінің айтуынша, ",
        "witness": "Куәгердің айтуынша, ",
        "professional": "Дәрігердің айтуынша, ",
        "anonymous": "111 желісіне анонимді қоңырау: ",
    },
    "en": {
        "victim": "According to the caller, ",
        "relative": "According to her relative, ",
        "neighbour": "According to a neighbour, ",
        "witness": "According to a witness, ",
        "professional": "According to the emergency doctor, ",
        "anonymous": "Anonymous call to the 111 line: ",
    },
}
WISHES = {
    "ru": (
        "Хочет, чтобы он перестал приходить; задерживать его не хочет.",
        "Просит помочь с временным жильём для неё и детей.",
        "Хочет развестись и получить защитное предписание.",
        "Пока ничего не решила, просит не звонить мужу.",
    ),
    "kk": (
        "Оның үйге келмеуін қалайды, қамауға алуын қаламайды.",
        "Балаларымен уақытша баспана сұрайды.",
    ),
    "en": (
        "She wants him to stop coming to her home; she does not want him arrested.",
        "She asks for temporary shelter for herself and the children.",
    ),
}
SAFE_CONTACT = {
    "ru": ("SMS только после 18:00", "звонить на рабочий номер с 9 до 13", "через сестру"),
    "kk": ("тек SMS, кешкі 18:00-ден кейін", "әпкесі арқылы"),
    "en": ("text message only, after 6 pm", "through her sister"),
}
PLACES_OF_INCIDENT = {
    "ru": ("квартира", "частный дом", "у подъезда", "во дворе", "на работе"),
    "kk": ("пәтер", "жеке үй", "подъезд алдында", "аула"),
    "en": ("the flat", "a private house", "outside the building", "the yard"),
}

# -- what reviewers write (sealed like everything else) ----------------------------------------

CORROBORATION_NOTES = {
    "second_source": (
        "Второй источник: сообщение соседей совпадает по адресу и времени.",
        "A second, independent post describes the same incident at the same address.",
    ),
    "police_check": (
        "Участковый выезжал по адресу, факт конфликта подтверждён.",
        "The district officer visited the address and confirmed the incident.",
    ),
    "victim_contact": (
        "Связались с пострадавшей по безопасному каналу, она подтвердила.",
        "Reached her on the safe channel; she confirmed what happened.",
    ),
    "records": (
        "Есть запись травмпункта от той же даты.",
        "The emergency room has a record of her injuries from that day.",
    ),
}
UNFOUNDED_REASONS = (
    "Проверка не подтвердила: по адресу такая семья не проживает.",
    "The post was a prank; its author said so and deleted it.",
    "Пострадавшая и соседи опровергли факт, признаков насилия нет.",
    "The article describes a case from another country.",
)
RATIONALES = {
    "contact_victim": "Связаться с ней по безопасному каналу и оценить, в безопасности ли она.",
    "refer_support": "She agrees to the crisis centre's help; refer her with her consent.",
    "safety_plan": "Составить с ней план безопасности на случай повторения.",
    "preventive_talk": "Провести с мужчиной профилактическую беседу.",
    "preventive_registration": "Repeated incidents: put him on preventive registration.",
    "protective_order": "Угрозы продолжаются: нужно защитное предписание.",
    "special_requirements": "Предписание нарушено: ходатайство в суд об особых требованиях.",
    "compulsory_assistance": "Alcohol misuse behind every incident: petition for assistance.",
    "administrative_detention": "Побои при детях: материалы для административного дела.",
    "criminal_referral": "Признаки уголовного правонарушения: передать следователям.",
    "no_action": "Мер не требуется: конфликт разрешён, угроз нет, она просит не вмешиваться.",
}
#: The article of the Criminal Code a referral to investigators cites for what a report
#: describes (codes of ``triage/legal/grounds.toml``; the demo cites only those the list offers).
CRIMINAL_GROUNDS = {
    "battery": "cc.109-1",
    "minor_harm": "cc.108-1",
    "serious_harm": "cc.106",
    "killing": "cc.106",
    "threat": "cc.115",
    "persecution": "cc.115-1",
    "sexual_violence": "cc.121",
}
AGAINST_WISHES = (
    "Высокий риск для её жизни: связаться с ней, несмотря на отказ, по безопасному каналу."
)
REJECTION_REASONS = (
    "Недостаточно оснований на этом этапе; сначала профилактическая беседа.",
    "The dates are wrong for this measure; propose it again.",
    "Она против, а риск сейчас не высокий: сначала поддержка.",
)
FOLLOW_UP_NOTES = (
    "Связались с ней: нарушений предписания нет.",
    "He keeps to the requirements; no renewal needed.",
    "Было одно нарушение, материалы переданы в полицию.",
)
CLOSING_NOTES = (
    "Меры приняты, угроз больше нет.",
    "Handed over to the region where she now lives.",
    "Пострадавшая отказалась от дальнейшей помощи.",
    "",
)
OVERRIDE_REASONS = (
    "Профессиональная оценка: контроль и ревность опаснее, чем показывает балл.",
    "She describes an escalation the checklist does not capture.",
)

"""The word lists that ``triage.screening`` matches: data only, by signal kind and language.

Kept apart from the matching code so that a reviewer who knows Russian or Kazakh can extend it
without reading Python. ``LEXICON`` maps a group to its terms by language. A group is a signal
kind (``violence``, ``family``, ``weapon``…, see ``screening.SIGNAL_KINDS``); ``topic`` ("domestic
violence" as a subject); a context cue that is not a signal but decides whether a text reports an
incident (``incident``, ``narrator``, ``general``, ``offtopic``); or ``ignore``, phrases whose
words must not count on their own ("семейный бизнес", "family doctor").

Each entry is a ``Term``: the normal form reported to reviewers (``lemma``), the word forms that
signal it (``patterns``), further kinds the same words signal (``also``: every violent act also
has ``violence``), and whether the word is too ambiguous to count without a person as its object
(``weak``: "beat the team", "побила рекорд").

Pattern syntax (whitespace separates alternatives):

- ``избил`` matches that word exactly; ``избил*`` matches any word that begins with ``избил``
  (Russian and Kazakh inflect at the end, so a stem plus ``*`` covers избил/избила/избили).
- ``_`` joins the words of a phrase: ``угрожал*_убить`` is two consecutive words. The longest
  phrase wins, and its words are not matched again.
- ``#`` is any number (``#_летн*`` matches "29-летнего": hyphens split words); ``?`` is any one
  word inside a phrase (``поднял*_на_?_руку``).
- Write lower case, ``е`` for ``ё``; Kazakh in Cyrillic with its own letters (ә ғ қ ң ө ұ ү һ і).

Languages: ``ru`` and ``kk`` entries are matched as written against Cyrillic text, and through a
script-independent skeleton against Russian typed in Latin letters ("izbil zhenu") and Kazakh in
the Latin alphabets of 2018 and 2021 ("áıelin urdy", "äielın"); ``kk`` entries also match Kazakh
typed without its own letters ("айелин урды"). ``en`` entries match English as written; ``xx``
entries match in any text (emoji, "%"). Choose stems that do not begin other common words:
``муж*`` would match мужчина and ``жен*`` женщина, so those are listed form by form. Add a case to
``tests/unit/test_screening.py`` for every word you add, and one for the word it must not catch.
"""

from __future__ import annotations

from typing import NamedTuple


class Term(NamedTuple):
    """One lexicon entry; see the module docstring for the pattern syntax."""

    lemma: str
    patterns: str
    also: tuple[str, ...] = ()
    weak: bool = False


V = ("violence",)  # shorthand: the term is also an act of violence
KILL = ("violence", "death")  # shorthand: the term is a killing

LEXICON: dict[str, dict[str, tuple[Term, ...]]] = {
    # -- acts of violence: one of these, near a family word, makes a candidate ------------------
    "violence": {
        "ru": (
            # "избел", "избевал" are common misspellings; "бъет" a common keyboard slip.
            Term(
                "избить",
                "избил избила избили избило избив* избиени* избит* избью* избьет* избей* "
                "избел избела избевал*",
            ),
            Term("бить", "бил била били бьет бьют бить бьешь бъет бъют"),
            Term("побить", "побил* побьет* побьют", weak=True),
            Term("побои", "побои побоев побоям побоями побоях"),
            Term("ударить", "ударил* ударя* ударить удары ударов ударом ударами"),
            Term(
                "колотить",
                "колотил* поколотил* отколотил* лупил* отлупил* лупит* пинал* пнул* "
                "толкнул* толкал* швырнул* швырял*",
            ),
            Term("таскать за волосы", "таскал*_за_волос* схватил*_за_волос* тащил*_за_волос*"),
            Term("напасть", "напал* нападени*", weak=True),
            Term(
                "рукоприкладство",
                "рукоприкладств* распускал*_руки распускает_руки поднял*_на_?_руку "
                "поднима*_на_?_руку поднял*_руку_на поднима*_руку_на",
            ),
            Term("насилие", "насили* насильн*"),
            Term("издеваться", "издевал* издевает* издевательств* истязал* истязани*"),
        ),
        "kk": (
            Term("ұру", "ұрды* ұрып* ұрған* ұрад* ұрат* ұрам* ұруы* ұрумен ұрсын"),
            Term("соғу", "соқты соққан* соғып* соғад* соққыға соққылап*", weak=True),
            Term("тепкілеу", "тепкіле* теуіп* тепті"),
            Term("зорлық-зомбылық", "зорлық* зомбылық*"),
            Term("қол көтеру", "қол_көтер* қол_жұмса*"),
            Term("азаптау", "азапта* қорла*"),
        ),
        "en": (
            # Weak: "beat the record", "a hit", "the attack" are not violence against a person.
            Term("beat", "beat", weak=True),
            Term("beaten", "beaten beating beatings beats"),
            Term("hit", "hit hits hitting", weak=True),
            Term("assault", "assault assaulted assaulting assaults", weak=True),
            Term("attack", "attack attacked attacking attacks", weak=True),
            Term(
                "punch",
                "punch* slap* kick kicked kicking kicks battered battering batters pushed shoved",
            ),
            Term("abuse", "abuse abused abuser abusing abusive"),
            Term("violence", "violence"),
            Term("torture", "tortur*"),
        ),
    },
    # -- topic phrases: "domestic violence" as a subject. Violence, but the family word inside is
    # consumed, so the phrase alone never makes a candidate (docs/screening.md).
    "topic": {
        "ru": (
            Term(
                "бытовое насилие",
                "бытов*_насили* домашн*_насили* семейн*_насили* семейно_бытов*_насили* "
                "насили*_в_семье насили*_в_семьях",
                also=V,
            ),
        ),
        "kk": (
            Term(
                "тұрмыстық зорлық",
                "тұрмыстық_зорлық* отбасылық_зорлық* отбасындағы_зорлық* "
                "отбасы_ішіндегі_зорлық* тұрмыстық_зомбылық*",
                also=V,
            ),
        ),
        "en": (
            Term(
                "domestic violence",
                "domestic_violence domestic_abuse family_violence violence_in_the_family "
                "intimate_partner_violence",
                also=V,
            ),
        ),
    },
    # -- family and household members (DOMAIN.md, "Relationship of the aggressor to the victim") --
    "family": {
        "ru": (
            # Listed form by form: жен* would match женщина, муж* мужчина.
            Term("жена", "жена жены жене жену женой женою жен"),
            Term("муж", "муж мужа мужу мужем муже мужья мужей мужьям муженек"),
            Term("супруг", "супруг*"),
            Term("сожитель", "сожител* сожительниц* сожительств*"),
            Term("бывший", "бывший бывшая бывшего бывшей бывшую бывшим бывшие бывших"),
            Term("мать", "мать матери матерью мама маму мамы маме мамой мамочк*"),
            Term("отец", "отец отца отцу отцом отце папа папу папы папе папой отчим* мачех*"),
            Term("дочь", "дочь дочери дочерью дочерей дочерям дочк* дочурк*"),
            Term("сын", "сын сына сыну сыном сыне сыновья сыновей сынок сынишк*"),
            Term("брат", "брат брата брату братом брате братья братьев"),
            Term("сестра", "сестр*"),
            Term(
                "свекровь",
                "свекров* свекор свекра свекру свекром тещ* тесть тестя тестю тестем "
                "зять зятя зятю зятем невестк* снох* шурин* деверь* золовк*",
            ),
            Term("родственник", "родственни*"),
            Term("внук", "внук* внучк* бабушк* дедушк* племянни*"),
            Term("падчерица", "падчериц* пасынк* пасынок", also=("children",)),
            Term("семья", "семья семьи семье семью семьей семьею семейн* член*_семьи"),
            Term("гражданский муж", "гражданск*_жен* гражданск*_муж*"),
            Term(
                "девушка",
                "свою_девушку своей_девушк* его_девушк* моя_девушка мою_девушку",
            ),
            Term(
                "парень",
                "возлюбленн* жених* мой_парень моего_парня ее_парень ее_парня своего_парня",
            ),
        ),
        "kk": (
            # Bare әйел is "woman"; with a possessive ending it is "wife" (әйелі, әйелін, әйелім).
            Term("әйелі", "әйелі әйелін* әйеліне әйелінің әйелім* әйеліме әйеліңді"),
            Term("күйеуі", "күйеу*"),
            Term("зайыбы", "зайыб* жұбай* жары жарын жарына"),
            Term("келіні", "келін*"),
            Term("енесі", "енесі* енем* қайын* абысын*"),
            Term("қызы", "қызы қызын қызына қызым* қызының қыздары*"),
            Term("ұлы", "ұлын ұлына ұлым* ұлдары*"),
            Term("анасы", "анасы* анам анамды анама анамның шешесі* шешем шешемді шешеме"),
            Term("әкесі", "әкесі* әкем* өгей*"),
            Term(
                "бауыры",
                "бауыры* бауырым* інісі* інім* ағасы* ағам* әпкесі* әпкем* сіңлі*",
            ),
            Term("ата-анасы", "ата_ана*"),
            Term("отбасы", "отбасы*"),
            Term("бұрынғы", "бұрынғы_күйеу* бұрынғы_әйел* бұрынғы_жары*"),
            Term("туысы", "туыс* немере*"),
        ),
        "en": (
            Term("wife", "wife wife's wives"),
            Term("husband", "husband husband's husbands"),
            Term("partner", "partner partner's partners"),
            Term("girlfriend", "girlfriend* boyfriend*"),
            Term("ex", "ex ex's ex_wife ex_husband ex_partner ex_girlfriend ex_boyfriend"),
            Term("spouse", "spous* fianc*"),
            Term("cohabitant", "cohabit*"),
            Term("mother", "mother* mom mum mommy mummy stepmother*"),
            Term("father", "father* dad daddy stepfather*"),
            Term("daughter", "daughter* stepdaughter*"),
            Term("son", "son son's sons stepson*"),
            Term("brother", "brother* sister*"),
            Term("in-law", "in_law in_laws"),
            Term(
                "relative",
                "a_relative relatives grandmother* grandfather* grandson* nephew* niece*",
            ),
            Term(
                "family",
                "his_family her_family their_family my_family family_member* member*_of_the_family",
            ),
            Term(
                "own children",
                "his_children her_children their_children my_children my_kids his_kids "
                "her_kids their_kids his_child her_child their_child",
                also=("children",),
            ),
        ),
    },
    # -- severity signals: they feed the provisional level ---------------------------------------
    "weapon": {
        "ru": (
            Term("нож", "нож ножа ножом ноже ножи ножей ножами ножев* ножик*"),
            Term(
                "оружие",
                "оружи* пистолет* ружь* ружье обрез травмат травматом травматическ*_пистолет* "
                "огнестрел* винтовк*",
            ),
            Term("топор", "топор топора топором молоток* молотк* бита битой арматур*"),
            Term("зарезать", "зарезал* прирезал*", also=KILL),
            Term("зарежу", "зарежу", also=("violence", "threat_to_kill")),
            Term("пырнуть", "пырнул* ножев*_ранени* ударил*_ножом", also=V),
            Term("застрелить", "застрелил* расстрелял*", also=KILL, weak=True),  # not "оленя"
            Term("выстрелить", "выстрелил* стрелял*", also=V),
        ),
        "kk": (
            Term("пышақ", "пышақ*"),
            Term("пышақтау", "пышақтап* пышақтады* пышақ_салды", also=V),
            Term("мылтық", "мылтық* қару* балта* тапанша*"),
            Term("атып өлтіру", "атып_өлтір*", also=KILL),
        ),
        "en": (
            Term("knife", "knife knives blade"),
            Term("gun", "gun guns firearm* pistol* rifle* shotgun* axe hammer"),
            Term("stab", "stab stabbed stabbing stabs", also=V),
            Term("shoot", "shot_dead shot_and_killed", also=KILL),
            Term("shoot at", "shot_her shot_him shot_at shooting_at", also=V),
        ),
        "xx": (Term("knife", "🔪 🗡"), Term("gun", "🔫")),
    },
    "strangulation": {
        "ru": (
            Term(
                "душить",
                "душил* душит душат душить придушил* удушени* удушил* "
                "схватил*_за_горло хватал*_за_горло за_горло сдавил*_горло сдавил*_шею",
                also=V,
            ),
            Term("задушить", "задушил* задушен* задушить", also=KILL),
        ),
        "kk": (
            Term(
                "тұншықтыру",
                "тұншықтыр* буындыр* қылқындыр* тамағынан_қыс* тамағынан_алып",
                also=V,
            ),
        ),
        "en": (Term("strangle", "strangl* chok* throttl* suffocat* smother*", also=V),),
    },
    # A threat (not in DOMAIN.md's list of kinds, but a violence signal of its own there). A threat
    # followed by a killing word becomes threat_to_kill (screening.py, _threats_to_kill).
    "threat": {
        "ru": (
            Term(
                "угрожать",
                "угрож* угроз* угражал* пригрозил* грозил* запугива* запугал*",
                also=V,
            ),
        ),
        "kk": (Term("қорқыту", "қорқыт* қоқан_лоққы*", also=V),),
        "en": (Term("threaten", "threat threats threaten* intimidat*", also=V),),
    },
    "threat_to_kill": {
        # First-person future forms are threats by their grammar: "убью", "өлтіремін", "I'll kill".
        "ru": (
            Term(
                "угроза убийством",
                "убью убьет убьешь убьют прибью* грозил*_убить угрожал*_убить "
                "угрожал*_убийством обещал*_убить",
                also=V,
            ),
        ),
        "kk": (Term("өлтіремін", "өлтірем* өлтіремін_деп* өлтірмекші*", also=V),),
        "en": (
            Term(
                "threaten to kill",
                "i'll_kill ill_kill will_kill gonna_kill going_to_kill threatened_to_kill "
                "threatening_to_kill threats_to_kill death_threat* kill_you",
                also=V,
            ),
        ),
    },
    "death": {
        # Killing words are also violence; dying words are not (an accident is no candidate).
        "ru": (
            Term("убить", "убил* убив* убийств* убит* убийц*", also=V),
            Term(
                "расправа",
                "расправа расправы расправу расправой расправе расправился расправилась "
                "расправиться расправились",
                also=V,
            ),
            Term("погибнуть", "погиб* скончал* смерт* труп* тело_женщин*"),
        ),
        "kk": (
            Term("өлтіру", "өлтірд* өлтірген* өлтіріп* өлтіру* өлтірілд* кісі_өлтір*", also=V),
            Term("қайтыс болу", "қайтыс_бол* қаза_тап* мерт_бол* көз_жұм* мәйіт*"),
        ),
        "en": (
            Term("kill", "kill killed killing killer murder*", also=V),
            Term("die", "died dead death body_of"),
        ),
    },
    "sexual_violence": {
        "ru": (
            Term(
                "изнасиловать",
                "изнасил* насиловал* надругал* развратн*_действ* принуждал*_к_сексу "
                "сексуальн*_насили*",
                also=V,
            ),
        ),
        "kk": (Term("зорлау", "зорла* жыныстық_зорлық* жыныстық_қатынасқа_мәжбүрле*", also=V),),
        "en": (
            Term(
                "rape",
                "rape raped rapes raping rapist* molest* sexual_assault* sexually_assault*",
                also=V,
            ),
        ),
    },
    "sexual_harassment": {
        "ru": (Term("домогательство", "домогат* домогал* приставал* пристает", also=V),),
        "kk": (
            Term(
                "жыныстық қысым",
                "жыныстық_қысым* жыныстық_қудала* жыныстық_сипаттағы",
                also=V,
            ),
        ),
        "en": (Term("sexual harassment", "sexual_harass* sexually_harass* grop*", also=V),),
    },
    "stalking": {
        "ru": (
            Term(
                "преследовать",
                "преследова* преследу* выслежива* выследил* подкарауливал* караулил* "
                "сталкинг* сталкер* названива* не_дает_проходу не_давал_проходу",
                also=V,
            ),
        ),
        "kk": (
            Term(
                "аңду",
                "аңдып* аңдиды* аңду* қудала* соңынан_қалмай* артынан_қалмай*",
                also=V,
            ),
        ),
        "en": (
            Term("stalk", "stalk stalked stalker* stalking stalks harass* followed_her", also=V),
        ),
    },
    "injury": {
        "ru": (
            Term(
                "травма",
                "синяк* гематом* перелом* сотрясени* травм* ранени* ранен ранена ссадин* "
                "кровоподтек* ушиб* вред*_здоровью госпитализ* больниц* реанимаци* "
                "скорую скорой_помощи",
            ),
        ),
        "kk": (
            Term(
                "жарақат",
                "жарақат* көгер* сынды* сынған* аурухана* жедел_жәрдем* денсаулығына_зиян*",
            ),
        ),
        "en": (
            Term(
                "injury",
                "bruise* injur* wound* fractur* broken_wrist broken_arm broken_nose "
                "broken_ribs hospital* concussion harm_to_health",
            ),
        ),
    },
    "pregnancy": {
        "ru": (Term("беременность", "беремен* на_сносях"),),
        "kk": (Term("жүкті", "жүкті* аяғы_ауыр* екіқабат*"),),
        "en": (Term("pregnant", "pregnan*"),),
        "xx": (Term("pregnant", "🤰"),),
    },
    "children": {
        "ru": (
            Term(
                "ребенок",
                "ребенок ребенка ребенку ребенком ребенке дети детей детям детьми детях "
                "малыш* младен* новорожденн* несовершеннолетн* малолетн*",
            ),
        ),
        "kk": (
            Term(
                "бала",
                "бала балаға баланы баланың балалар* баласы* баласын* сәби* "
                "кәмелетке_толмаған* нәресте*",
            ),
        ),
        "en": (
            Term(
                "child",
                "child child's children kid kids baby babies infant* toddler* minors a_minor",
            ),
        ),
    },
    "prior_incidents": {
        "ru": (
            Term(
                "неоднократно",
                "неоднократн* систематическ* регулярно постоянно опять снова уже_обращал* "
                "не_впервые не_в_первый_раз в_очередной_раз годами",
            ),
        ),
        "kk": (
            Term(
                "бірнеше рет",
                "бірнеше_рет талай_рет жиі үнемі тағы_да қайтадан бұрын_да екінші_рет",
            ),
        ),
        "en": (
            Term(
                "repeatedly",
                "repeatedly again twice several_times many_times previously for_years "
                "history_of same_address",
            ),
        ),
    },
    # -- context cues: never reported as signals, but they decide whether a text reports an
    # incident (the general-discussion and off-topic rules in screening.py).
    # Concrete-incident markers: a particular event (an arrest, an age, a day, a narrator).
    "incident": {
        "ru": (
            Term(
                "инцидент",
                "задержан* задержал* арестова* госпитализ* пострадавш* потерпевш* "
                "подозреваем* обвиняем* вчера сегодня ночью накануне в_ночь_на "
                "в_понедельник во_вторник в_среду в_четверг в_пятницу в_субботу в_воскресенье "
                "#_летн* соседи соседей соседка сосед "
                "уголовное_дело защитн*_предписани* по_данным_следствия",
            ),
        ),
        "kk": (
            Term(
                "оқиға",
                "ұсталды ұстады ұсталған қамауға кеше бүгін түнде #_жастағы #_жасар "
                "көршілер* көршісі* зардап_шеккен жәбірленуші* күдікті* қорғау_нұсқама* "
                "қылмыстық_іс",
            ),
        ),
        "en": (
            Term(
                "incident",
                "detained arrested charged charges suspect yesterday last_night this_morning "
                "on_monday on_tuesday on_wednesday on_thursday on_friday on_saturday on_sunday "
                "#_year_old neighbours neighbors neighbour neighbor the_victim protective_order",
            ),
        ),
    },
    # A narrator who is the victim ("помогите", "hit me"): concrete for the text as a whole, but
    # too common to rescue a sentence about sport or film ("my dad beat me at chess").
    "narrator": {
        "ru": (Term("рассказчик", "меня мне помогите"),),
        "kk": (Term("баяндаушы", "мені маған көмектесіңдер көмектесіңіз"),),
        "en": (Term("narrator", "me help_me"),),
    },
    # General discussion: statistics, law-making, opinion, people in the plural.
    "general": {
        "ru": (
            Term(
                "общее",
                "статистик* законопроект* закон закона законе законы законодательств* "
                "поправк* депутат* мажилис* сенат* парламент* министерств* процент* "
                "ежегодно каждый_год каждая_третья каждая_вторая каждая_пятая тысяч* "
                "случаев исследовани* опрос* эксперт* проблем* общество общества "
                "профилактик* мнени* должны должно женщины_в_казахстане жертвы жертв "
                "жертвам мужья мужей по_данным_мвд по_данным_министерств* по_данным_оон "
                "семейн*_кодекс*",
            ),
        ),
        "kk": (
            Term(
                "жалпы",
                "статистика* заң_жоба* заң заңы заңға заңын заңнама* депутат* мәжіліс* "
                "сенат* парламент* министрлі* пайыз* жыл_сайын мың зерттеу* сауалнама* "
                "сарапшы* мәселе* қоғам* алдын_алу* әйелдер* жағдай_тіркелді",
            ),
        ),
        "en": (
            Term(
                "general",
                "statistic* bill bills law laws legislation parliament* lawmakers deputies "
                "ministry percent per_cent annually every_year each_year survey* study studies "
                "research* expert* problem society women wives husbands cases thousand* "
                "million* opinion column should must prevention victims",
            ),
        ),
        "xx": (Term("percent", "%"),),
    },
    # Off-topic context: sport, war and politics, film and books.
    "offtopic": {
        "ru": (
            Term(
                "спорт",
                "матч* команд* чемпионат* турнир* тренер* боец бойц* соперник* гол голы "
                "сборн* лига лиги финал* спортсмен* болельщик* стадион* бокс* боксер* ринг* "
                "ufc мма футбол* хоккей* борц* разгромил* победил* обыграл* шахмат* теннис* "
                "в_карты",
            ),
            Term(
                "война",
                "войн* армия армии армией солдат* военн* фронт* обстрел* ракет* бомб* "
                "оккупац* боевик* теракт* митинг* протест* оппозици* выборы выборов выборах "
                "санкци*",
            ),
            Term(
                "кино",
                "фильм* сериал* кино* режисс* актер* актрис* книг* сюжет* персонаж* "
                "героин* главн*_геро* рецензи* спектакл* писател* триллер*",
            ),
        ),
        "kk": (
            Term(
                "спорт",
                "чемпионат* жарыс* турнир* команда* спортшы* жаттықтырушы* құрама* жеңіс* "
                "жеңді жеңіліс* матч* ойыншы* бокс* күрес* балуан* гол шахмат* тоғызқұмалақ*",
            ),
            Term("соғыс", "соғыс* әскер* майдан* сарбаз* атқылау* зымыран* сайлау* наразылық*"),
            Term(
                "кино",
                "фильм* кино* сериал* режиссер* актер* актриса* кітап* кейіпкер* спектакль* "
                "қойылым*",
            ),
        ),
        "en": (
            Term(
                "sport",
                "match matches team teams championship* tournament* coach* league final "
                "goal goals athlete* fighter* season game games player* striker stadium "
                "arena opponent* medal* judo boxing boxer* wrestl* ufc mma football* hockey chess "
                "poker cards tennis",
            ),
            Term(
                "war",
                "war wars army armies soldier* troops military front_line shelling missile* "
                "bomb* airstrike* invasion militants terrorist* election* protest* opposition "
                "sanction* president",
            ),
            Term(
                "film",
                "film films movie* series novel novels book books director actor* actress* "
                "character characters plot review reviews protagonist episode* cinema "
                "thriller premiere",
            ),
        ),
    },
    # Phrases whose words must not count on their own: consumed, they signal nothing.
    "ignore": {
        "ru": (
            Term(
                "не сигнал",
                "семейн*_бизнес* семейн*_предпри* семейн*_компани* семейн*_фирм* "
                "семейн*_ферм* семейн*_подряд* семейн*_врач* семейн*_медицин* "
                "семейн*_отдых* семейн*_ценност* семейн*_праздник* семейн*_традиц* "
                "уголовн*_преследовани* ранее_сообщал* бывш*_министр* бывш*_депутат* "
                "бывш*_сотрудник* бывш*_глав* бывш*_аким* бывш*_президент* бывш*_ссср "
                "бывш*_чиновник* бывш*_руководител* бывш*_директор* бывш*_полицейск* "
                "бывш*_военн* бывш*_работ* сестр*_милосерди* медицинск*_сестр* "
                "смертн*_казн* удар*_по_мяч* удар*_по_ворот* брат*_народ*",
            ),
        ),
        "kk": (
            Term(
                "сигнал емес",
                "отбасылық_бизнес* отбасылық_кәсіп* отбасылық_компания* отбасылық_дәрігер* "
                "отбасылық_медицина* отбасылық_құндылық* отбасылық_демалыс*",
            ),
        ),
        "en": (
            Term(
                "no signal",
                "family_business* family_firm* family_company family_owned family_farm* "
                "family_doctor* family_medicine family_friendly family_name family_holiday* "
                "business_partner* partner_organisation* partner_organization* "
                "partner_countr* hit_song* hit_single box_office_hit drum_beat* heart_beat*",
            ),
        ),
    },
}

# The word lists below are space-separated, written like patterns (lower case, е for ё).

# Words that carry a violent verb's object: a weak term needs one of these, or a family or
# children word, among the three words after it (Russian, English: "he beat her", "побил жену";
# not "beat the team", "побила рекорд") or before it (Kazakh puts the object first: "әйелін соқты").
PERSON_OBJECTS = (
    "her him me them us his my their your herself himself "
    "ее его меня нас их ей ему мне ним ней свою своего своих "
    "оны мені бізді оларды өзін өз"
)

# A negator directly before a violent word cancels it ("не бил", "never hit"); Kazakh negates
# inside the verb (ұрмады, which no pattern matches) or with "жоқ" after it ("ұрған жоқ").
NEGATORS_BEFORE = (
    "не ни not never didn't didnt doesn't doesnt don't dont hasn't hasnt hadn't hadnt won't wont ne"
)
NEGATORS_AFTER = "жоқ"

# Kazakh negates inside the verb: the stem, a negative suffix (-ма/-ме, -ба/-бе, -па/-пе), then a
# tense or person ending (ұр-ма-ды "did not hit", қорқыт-па-ған "has not threatened"). Stems of
# the violent and threatening verbs whose negated forms say the act did not happen, and the
# endings, both as skeletons (``screening_text.skeleton``: one pattern for Cyrillic, the 2021
# Latin alphabet and chat typing; doubled letters are one, so теп-пе-ді is "tepedi").
KK_NEGATABLE_STEMS = (
    "ur sok tep tepkile korkit oltir korla azapta zorla pishakta buindir tunshiktir"
)
KK_NEGATIVE_ENDINGS = "gan gen kan ken di ti dim dik pti idi itin imin isin imiz s niz"

# Determiners that make an English weak verb a noun ("a hit", "the attack").
DETERMINERS = "a an the this that big huge massive"

# Function words for telling the languages apart (screening.detect_language).
FUNCTION_WORDS: dict[str, str] = {
    "ru": (
        "и в не на что я с он она как это по но к у же за из от мой моя меня его ее "
        "мне был была было были так уже все когда потом который которая после то "
        "при для о об до вот еще очень нет да"
    ),
    "kk": (
        "және мен бұл деп үшін да де ол жоқ бар осы бір екен емес еді сол қалай неге мені "
        "оны менің сен біз олар кейін бірақ тағы ғой ма ме ба бе па пе "
        # the same typed without Kazakh letters
        "мени менин бул ушин жок кейин бирак кеше"
    ),
    "en": (
        "the and of to in is was his her he she for with by at my me after had has have "
        "this that from they were been are it an"
    ),
    # Russian typed in Latin letters; English look-alikes (i, on, no, a) are left out.
    "ru_latin": (
        "ne chto shto ya ona kak eto menya menia mne moi moy moya moego ego eyo tak uzhe "
        "vse opyat opiat segodnya vchera pomogite nas kogda pochemu tolko ochen doma potom "
        "ili tozhe nado mozhno nikto svoyu svoiu"
    ),
    # Kazakh typed in Latin letters (2018 and 2021 alphabets, and plain ASCII).
    "kk_latin": (
        "jáne jane bul dep ushin úshin ol joq jok osy bir eken emes edi meni ony meniń "
        "menin sen biz olar keıin keiin biraq tagy taǵy goı"
    ),
}

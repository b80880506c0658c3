"""Demo data: a whole programme's worth of consistent, realistic records (``sheets init --demo``).

:func:`generate` builds three cohorts with their nominations (every reporting unit, every
workflow status), expert scores, trainees, mentors, workshops, sessions and attendance,
deliverables, research, forum talks, pairings, plans, cohort-1 assessments and certificates,
expenses and the demo accounts. It reads the schemas for id prefixes, the curriculum seed and
the choice lists, so it follows the TOML files rather than repeating them.

The timeline, for ``year`` Y (the demo's “today” is Y-05-20):
- 第一期 ran (Y-3)-09 → (Y-1)-02 and is finished: assessed, certificates issued;
- 第二期 ran (Y-2)-09 → Y-02 and is being assessed;
- 第三期 started (Y-1)-09 and is mid-way; the nominations still moving through the workflow
  (草稿 … 公示中) belong to it, so every status shows up in the demo.

Every value is valid for its column (dates are ``datetime.date``, phones 11-digit mobiles,
ID numbers pass the GB 11643 checksum, enums come from the choice lists) and every ref points
to a generated id. The same ``seed`` always gives the same data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from faker import Faker

from .schema import SchemaSet, SheetSchema

Row = dict[str, Any]

DEMO_DOMAIN = "demo.mingxiao.cn"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
EXPERT_EMAIL = f"expert@{DEMO_DOMAIN}"
MENTOR_EMAIL = f"mentor@{DEMO_DOMAIN}"
MENTOR2_EMAIL = f"mentor2@{DEMO_DOMAIN}"
TRAINEE_EMAIL = f"trainee@{DEMO_DOMAIN}"
TRAINEE2_EMAIL = f"trainee2@{DEMO_DOMAIN}"

DEMO_LOGINS: tuple[tuple[str, str, str], ...] = (
    (ADMIN_EMAIL, "admin", "管理员：市中小学干部培训中心，可管理全部数据"),
    (f"district.shangcheng@{DEMO_DOMAIN}", "district", "上城区教育局：审核盖章、报送本区人选"),
    (f"district.xihu@{DEMO_DOMAIN}", "district", "西湖区教育局：审核盖章、报送本区人选"),
    (EXPERT_EMAIL, "expert", "评审专家：为报送的人选评分"),
    (MENTOR_EMAIL, "mentor", "导师：带教多名学员，审阅结业作业"),
    (MENTOR2_EMAIL, "mentor", "导师：另一位导师，只能看到自己的学员"),
    (TRAINEE_EMAIL, "trainee", "学员：第一期学员，已结业并获证书（培养档案只读）"),
    (TRAINEE2_EMAIL, "trainee", "学员：最新一期在训学员，可修改个人方案、提交结业作业"),
)

# GB 11643-1999: weights of the first 17 digits and the check character for sum mod 11.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Administrative division codes used for demo ID numbers (市直属 uses the city code).
_REGION_CODES = {
    "上城区": "330102",
    "拱墅区": "330105",
    "西湖区": "330106",
    "滨江区": "330108",
    "萧山区": "330109",
    "余杭区": "330110",
    "富阳区": "330111",
    "临安区": "330112",
    "临平区": "330113",
    "钱塘区": "330114",
    "桐庐县": "330122",
    "淳安县": "330127",
    "建德市": "330182",
    "市直属学校": "330100",
}
# Mailbox names of the district offices; the demo logins use 上城区 and 西湖区.
_DISTRICT_SLUGS = {
    "上城区": "shangcheng",
    "拱墅区": "gongshu",
    "西湖区": "xihu",
    "滨江区": "binjiang",
    "萧山区": "xiaoshan",
    "余杭区": "yuhang",
    "临平区": "linping",
    "钱塘区": "qiantang",
    "富阳区": "fuyang",
    "临安区": "linan",
    "桐庐县": "tonglu",
    "淳安县": "chunan",
    "建德市": "jiande",
    "市直属学校": "city",
}
# Bigger districts send more nominations.
_DISTRICT_WEIGHTS = {
    "上城区": 10,
    "拱墅区": 10,
    "西湖区": 10,
    "滨江区": 6,
    "萧山区": 10,
    "余杭区": 8,
    "临平区": 6,
    "钱塘区": 5,
    "富阳区": 6,
    "临安区": 5,
    "桐庐县": 4,
    "淳安县": 4,
    "建德市": 4,
    "市直属学校": 8,
}
_LOCALITIES = {
    "上城区": [
        "天长",
        "胜利",
        "采荷",
        "濮家",
        "凤凰",
        "紫阳",
        "崇文",
        "钱江",
        "丁兰",
        "笕桥",
        "九堡",
    ],
    "拱墅区": [
        "大关",
        "长寿桥",
        "卖鱼桥",
        "文澜",
        "德胜",
        "朝晖",
        "青春",
        "新华",
        "湖墅",
        "康桥",
        "半山",
    ],
    "西湖区": [
        "学军",
        "文三街",
        "保俶塔",
        "求是",
        "西溪",
        "翠苑",
        "古荡",
        "留下",
        "转塘",
        "三墩",
        "紫金港",
    ],
    "滨江区": ["江南", "闻涛", "长河", "浦沿", "西兴", "丹枫", "彩虹城", "东冠", "星民"],
    "萧山区": ["城厢", "湘湖", "北干", "高桥", "新塘", "瓜沥", "义蓬", "靖江", "戴村", "楼塔"],
    "余杭区": ["仓前", "闲林", "五常", "良渚", "瓶窑", "径山", "中泰", "仁和", "禹航"],
    "临平区": ["临平", "星桥", "乔司", "塘栖", "崇贤", "运河", "东湖", "南苑"],
    "钱塘区": ["下沙", "白杨", "文海", "学林", "新湾", "河庄", "前进", "江东"],
    "富阳区": ["富春", "东洲", "银湖", "春江", "新登", "场口", "万市", "大源"],
    "临安区": ["锦城", "锦北", "玲珑", "青山湖", "於潜", "昌化", "太湖源", "高虹"],
    "桐庐县": ["城南", "旧县", "分水", "横村", "富春江", "瑶琳", "百江", "江南"],
    "淳安县": ["千岛湖", "汾口", "威坪", "姜家", "文昌", "石林", "临岐", "大墅"],
    "建德市": ["新安江", "洋溪", "寿昌", "梅城", "乾潭", "大同", "莲花", "下涯"],
    "市直属学校": ["湖滨", "凤起", "钱塘", "长河", "源清", "西湖", "运河", "之江", "西溪", "江城"],
}
_SCHOOL_SUFFIXES = {
    "小学": ["小学", "实验小学", "第一小学", "中心小学", "第二小学"],
    "初中": ["中学", "初级中学", "实验中学", "第一初级中学"],
    "高中": ["高级中学", "中学", "第二高级中学"],
    "九年一贯制学校": ["实验学校", "学校", "外国语学校"],
    "十二年一贯制学校": ["外国语学校", "实验学校"],
    "完全中学": ["中学", "第一中学"],
    "幼儿园": ["幼儿园", "实验幼儿园", "中心幼儿园", "第一幼儿园"],
    "中等职业学校": ["职业高级中学", "中等职业学校"],
    "特殊教育学校": ["特殊教育学校", "启智学校"],
}
_SCHOOL_TYPE_WEIGHTS = {
    "小学": 38,
    "初中": 20,
    "高中": 10,
    "九年一贯制学校": 10,
    "十二年一贯制学校": 2,
    "完全中学": 3,
    "幼儿园": 12,
    "中等职业学校": 4,
    "特殊教育学校": 1,
}
_MOTTOS = [
    "让每一个生命精彩绽放",
    "向美而行，向善而生",
    "做有温度的教育",
    "学有所乐，长有所成",
    "和而不同，美美与共",
    "知行合一，自主成长",
    "尚美致远",
    "博雅立人",
    "以文化人，以美育人",
    "让儿童站在学校正中央",
    "润泽生命，启迪智慧",
]
_SCHOOL_HONORS = [
    "全国文明校园",
    "浙江省文明校园",
    "全国青少年校园足球特色学校",
    "浙江省现代化学校",
    "杭州市“美好教育”示范学校",
    "浙江省示范性幼儿园",
    "全国教育系统先进集体",
    "浙江省数字化改革示范校",
]
_PERSONAL_HONORS = [
    "浙江省特级教师",
    "杭州市优秀校长",
    "杭州市教坛新秀",
    "浙江省春蚕奖",
    "杭州市优秀共产党员",
    "全国优秀教师",
    "浙江省优秀教师",
    "杭州市劳动模范",
    "杭州市优秀教育工作者",
]
_COND_POLITICAL = [
    "始终坚持以习近平新时代中国特色社会主义思想为指导，认真落实党组织领导的校长负责制。",
    "牢固树立“四个意识”，坚定“四个自信”，做到“两个维护”，任职以来带头为师生讲党课{n}次。",
    "忠诚党的教育事业，扎根基础教育一线{m}年，热爱学校、热爱师生，敬业奉献，为人师表。",
    "在疫情防控、新校区建设、集团化办学等急难险重任务中主动担当，攻坚克难。",
    "学校党组织连续{n}年被评为区先进基层党组织，党建品牌“{motto}”入选市级优秀案例。",
]
_COND_MANAGEMENT = [
    "坚持育人为本，提出“{motto}”的办学理念，树立正确的人才观和科学的质量观。",
    "学校领导班子团结协作、开拓进取，建立“校务委员会+教代会+家长委员会”的民主管理机制。",
    "依法治校，修订完善学校章程及{n}项管理制度，内部治理结构健全，运行良好。",
    "推进数字化校园建设，运用学业大数据开展教学质量监测与精准管理。",
    "牵头组建{locality}教育集团，实现集团内课程、师资、管理共享，成员校办学水平整体提升。",
]
_COND_INTEGRITY = [
    "严格执行中央八项规定精神，严于律己，廉洁办学，无违规违纪记录。",
    "落实“三重一大”集体决策制度，财务、招生、评优等事项公开透明。",
    "恪守职业道德，品行端正，在师生和家长中有良好口碑。",
    "任职以来学校无重大安全责任事故、无严重违规办学行为，无意识形态问题和重大舆情。",
]
_COND_MORAL = [
    "全面贯彻党的教育方针，构建“五育并举”课程体系，落实立德树人根本任务。",
    "开发劳动教育与研学实践课程，学生体质健康优良率达{pct}%。",
    "深化“双减”改革，作业管理与课后服务经验在全市交流推广。",
    "坚持德育为先，打造“{motto}”德育品牌，获评市级德育特色学校。",
]
_COND_DEVELOPMENT = [
    "重视干部教师队伍建设，近五年培养市级学科带头人{n}名、教坛新秀{m}名。",
    "建立“青蓝工程”师徒结对机制，特别注重青年教师培养，教师专业发展梯队完整。",
    "关心学生身心健康，全面实施素质教育，学生在各级各类比赛中获奖{k}项。",
    "学生、家长、教师满意度测评连续三年位居{district}前列。",
]
_COND_REPUTATION = [
    "学校形成“{motto}”的鲜明办学特色，先后获评{honor}。",
    "主持的学校课程建设成果获浙江省基础教育教学成果{grade}等奖。",
    "学校文化积淀深厚，办学经验被《中国教育报》《浙江教育报》等媒体报道。",
    "承担{region}等地校长跟岗培训任务，辐射带动作用明显，社会满意度高。",
]
_CONTRIBUTIONS = [
    "任职以来带领学校从区办学水平评估三类校跃升为一类校，相关经验在全市校长论坛交流。",
    "牵头新建学校的筹建与开办，三年内建成区域优质学校，获区政府嘉奖。",
    "主持学校集团化办学改革，带动两所农村薄弱学校办学质量显著提升，入选市级典型案例。",
    "创建学前融合教育模式，被省教育厅作为典型经验推广。",
]
_RESEARCH_TITLES = [
    "“美好教育”视域下{stype}课程统整的实践研究",
    "集团化办学背景下{stype}教师专业发展共同体建设研究",
    "基于核心素养的{stype}项目化学习校本实施研究",
    "数字化转型背景下{stype}教学质量监测与改进研究",
    "{stype}劳动教育课程体系的构建与实施研究",
    "家校社协同育人机制的{stype}实践探索",
    "“双减”背景下{stype}作业设计与管理的实践研究",
    "{stype}教育评价改革的校本路径研究",
    "新时代{stype}校长课程领导力提升的行动研究",
    "山区共富背景下城乡{stype}结对共同体建设研究",
]
_FORUMS = [
    ("杭州市中小学名校长论坛", "杭州市教育局", "市级"),
    ("“美好教育”杭州论坛", "杭州市教育局", "市级"),
    ("浙江省中小学校长发展论坛", "浙江省教育厅", "省级"),
    ("长三角基础教育校长峰会", "长三角教育协作办公室", "省级"),
    ("全国中小学校长领导力论坛", "中国教育学会", "国家级"),
    ("中国基础教育改革发展论坛", "中国教育科学研究院", "国家级"),
    ("区县校长读书会", "区教育局", "区县级"),
    ("亚太地区学校领导力国际会议", "亚太地区教育组织", "国际"),
]
_TALK_TOPICS = [
    "从“管理”到“治理”：一所学校的变革之路",
    "让课程成为学校发展的引擎",
    "集团化办学的机制创新",
    "数字化赋能学校质量管理",
    "以评价改革撬动育人方式转型",
    "教师成长共同体的建设实践",
    "办学思想的凝炼与表达",
    "家校社协同育人的校本实践",
    "山区学校结对帮扶的经验与反思",
]
# The body of a demo deliverable file: Chinese characters and full-width punctuation only, so
# each character counts 1 字 (mingxiao.wordcount) and a file of n characters has n 字.
_DELIVERABLE_PASSAGE = (
    "学校发展以立德树人为根本任务，坚持五育并举，办人民满意的教育。"
    "在名校长培养工程的学习中，我系统梳理了学校的办学历史与文化传统，"
    "反思了课程建设、教师发展和学校治理中存在的问题。"
    "通过导师指导、名校考察和同伴研讨，我逐步明确了学校的发展方向："
    "以课程改革为抓手，以教师成长为根本，以评价改革为牵引，"
    "推动学校从规范管理走向内涵发展。"
    "下一步，我将把所学所思转化为办学实践，凝炼办学思想，形成可推广的经验。"
)
_PARAGRAPH = 120  # characters per line of a demo file (line breaks do not count)

_WORKSHOP_FOCUS = [
    "集团化办学治理",
    "课程领导力与课程统整",
    "教育评价改革",
    "青年干部培养",
    "劳动教育课程建设",
    "数字化转型与智慧校园",
    "学前教育质量提升",
    "家校社协同育人",
    "乡村学校振兴",
    "五育融合",
]
_WORKSHOP_TOPICS = [
    "学校发展规划诊断",
    "课程建设专题研讨",
    "跟岗学习：走进名校",
    "送教下乡",
    "读书分享会",
    "课题研究推进会",
    "青年干部成长沙龙",
    "教学质量分析会",
    "校园文化建设现场会",
]
_PAIRING_REGIONS = [
    ("贵州省黔东南州", ["台江县", "剑河县", "从江县", "榕江县", "雷山县"]),
    ("贵州省黔南州", ["荔波县", "三都县", "平塘县"]),
    ("湖北省恩施州", ["恩施市", "利川市", "建始县", "巴东县"]),
    ("四川省甘孜州", ["康定市", "泸定县", "丹巴县"]),
    ("新疆阿克苏地区", ["阿克苏市", "阿瓦提县", "乌什县"]),
    ("吉林省延边州", ["延吉市", "图们市", "龙井市"]),
    ("浙江省衢州市", ["开化县", "常山县"]),
    ("浙江省丽水市", ["景宁县", "庆元县", "松阳县"]),
]
_MENTOR_ORGS = [
    ("浙江大学教育学院", "教授"),
    ("华东师范大学教育学部", "教授"),
    ("北京师范大学教育学部", "教授"),
    ("杭州师范大学经亨颐教育学院", "教授"),
    ("浙江师范大学教师教育学院", "副教授"),
    ("杭州市教育科学研究院", "研究员"),
    ("浙江省教育科学研究院", "研究员"),
    ("杭州市中小学干部培训中心", "副研究员"),
    ("杭州学军中学", "正高级教师"),
    ("杭州市天长小学", "特级教师"),
    ("杭州第二中学", "正高级教师"),
    ("杭州市保俶塔实验学校", "特级教师"),
]
_EXPERTISE = [
    "学校治理与现代学校制度",
    "课程与教学领导力",
    "教育评价改革",
    "教师专业发展",
    "德育与学生发展",
    "教育政策与法治",
    "集团化办学",
    "教育数字化转型",
    "学前教育管理",
    "职业教育改革",
]
_GUIDANCE_TOPICS = [
    "一人一方案修订",
    "课题开题论证",
    "课题中期检查",
    "办学思想梳理",
    "工作室运行诊断",
    "论文选题与提纲",
    "研修报告修改",
    "论坛展示准备",
    "结对帮扶方案讨论",
]
_OVERSEAS = [
    "新加坡南洋理工大学国立教育学院",
    "芬兰赫尔辛基大学",
    "英国剑桥大学教育学院",
    "香港教育大学",
]
_TECH_SITES = [
    "之江实验室",
    "阿里巴巴西溪园区",
    "海康威视",
    "西湖大学",
    "中国科学院上海分院",
    "宇树科技",
]
_EXPENSE_PAYEES = {
    "培训业务费": ["浙江大学继续教育学院", "华东师范大学开放教育学院", "北京师范大学继续教育学院"],
    "公务费": ["杭州市中小学干部培训中心"],
    "资料费": ["浙江教育出版社", "杭州新华书店有限公司"],
    "导师指导费": ["各导师团队"],
    "实践活动费": ["杭州研学实践教育基地", "之江实验室"],
    "学术交流活动补助费": ["中国教育学会", "浙江省教育学会"],
    "伙食费": ["杭州之江饭店有限公司", "杭州黄龙饭店有限公司"],
    "住宿费": ["杭州之江饭店有限公司", "杭州黄龙饭店有限公司", "杭州望湖宾馆"],
}
_EXPENSE_PER_TRAINEE = {  # yuan per trainee per payment, roughly
    "培训业务费": 1600,
    "公务费": 120,
    "资料费": 90,
    "导师指导费": 600,
    "实践活动费": 400,
    "学术交流活动补助费": 300,
    "伙食费": 260,
    "住宿费": 520,
}
_VERIFY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

# How a curriculum topic becomes sessions: (session type, hours per session, spread over the cycle).
_SPREAD_TYPES = {"工作室", "结对", "论坛"}


_OBJECTIONS = [
    "反映该校去年发生学生意外伤害事件，处理不够及时。",
    "反映被推荐人任正职时间不足三年。",
    "反映该校存在违规收费情况。",
]


@dataclass
class _Person:
    """One nominee as the generator sees them (reused for the trainee row)."""

    name: str
    gender: str
    district: str
    school: str
    school_type: str
    phone: str
    email: str
    birth: dt.date


@dataclass
class _Cohort:
    id: str
    number: int
    start: dt.date
    end: dt.date
    deadline: dt.date
    total_hours: int
    trainees: list[Row] = field(default_factory=list)
    sessions: list[Row] = field(default_factory=list)


def id_number(region: str, birth: dt.date, seq: int) -> str:
    """An 18-character resident ID with a valid GB 11643 check character."""
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


class _Generator:
    """Holds the random sources, id counters and the output while the demo is built."""

    def __init__(self, schemas: SchemaSet, scale: float, seed: int, year: int) -> None:
        self.schemas = schemas
        self.rng = random.Random(seed)
        self.seed = seed
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.year = year
        self.today = dt.date(year, 5, 20)
        self.scale = max(scale, 0.0)
        self.out: dict[str, list[Row]] = {s.key: [] for s in schemas}
        self._seq: dict[str, int] = {}
        self._id_numbers: set[str] = set()
        self._phones: set[str] = set()
        self.districts = list(schemas.choice_lists.get("districts", tuple(_REGION_CODES)))
        self.per_cohort = max(2, round(50 * self.scale))
        self.n_nominations = max(round(400 * self.scale), 3 * self.per_cohort + len(self.districts))
        self.n_mentors = max(3, round(30 * self.scale))
        self.cohorts: list[_Cohort] = []
        self.module_ids: list[str] = []
        self.modules: list[Row] = []
        self.mentor_rows: list[Row] = []
        self.lead_of: dict[str, Row] = {}  # trainee id → lead mentor row
        self.experts: list[tuple[str, str]] = []
        self.admitted: dict[int, list[tuple[Row, _Person]]] = {}

    # -- small helpers ----------------------------------------------------------------
    def new_id(self, key: str) -> str:
        schema: SheetSchema = self.schemas[key]
        n = self._seq.get(key, 0) + 1
        self._seq[key] = n
        if schema.id_year:
            return f"{schema.id_prefix}{self.year}-{n:04d}"
        return f"{schema.id_prefix}{n:04d}"

    def add(self, key: str, row: Row) -> Row:
        row = {"id": self.new_id(key), **row}
        self.out[key].append(row)
        return row

    def choices(self, name: str) -> list[str]:
        return list(self.schemas.choice_lists.get(name, ()))

    def pick(self, seq: Sequence[Any]) -> Any:
        return seq[self.rng.randrange(len(seq))]

    def weighted(self, weights: Mapping[str, float], allowed: list[str]) -> str:
        names = [n for n in allowed if n in weights] or allowed
        return self.rng.choices(names, weights=[weights.get(n, 1) for n in names])[0]

    def phone(self) -> str:
        while True:
            p = "1" + self.pick("3456789") + f"{self.rng.randrange(10**9):09d}"
            if p not in self._phones:
                self._phones.add(p)
                return p

    def days(self, base: dt.date, lo: int, hi: int) -> dt.date:
        return base + dt.timedelta(days=self.rng.randint(lo, hi))

    def at(self, day: dt.date, lo_hour: int = 8, hi_hour: int = 18) -> dt.datetime:
        return dt.datetime.combine(
            day, dt.time(self.rng.randint(lo_hour, hi_hour - 1), self.rng.randrange(0, 60, 5))
        )

    def between(self, lo: dt.date, hi: dt.date) -> dt.date:
        if hi <= lo:
            return lo
        return lo + dt.timedelta(days=self.rng.randint(0, (hi - lo).days))

    def fill(self, template: str, **extra: Any) -> str:
        values = {
            "n": self.rng.randint(3, 9),
            "m": self.rng.randint(12, 28),
            "k": self.rng.randint(40, 260),
            "pct": self.rng.randint(88, 98),
            "grade": self.pick(["一", "二"]),
            "motto": self.pick(_MOTTOS),
            "honor": self.pick(_SCHOOL_HONORS),
            "region": self.pick(_PAIRING_REGIONS)[0],
            "locality": "城区",
            "district": "区",
        }
        values.update(extra)
        return template.format(**values)

    def paragraph(self, bank: list[str], k: int = 3, **extra: Any) -> str:
        return "".join(self.fill(t, **extra) for t in self.rng.sample(bank, min(k, len(bank))))

    def school(self, district: str, stype: str) -> str:
        locality = self.pick(_LOCALITIES.get(district, ["城东"]))
        suffix = self.pick(_SCHOOL_SUFFIXES.get(stype, ["学校"]))
        if district == "市直属学校":
            prefix = "杭州市"
        elif district.endswith(("县", "市")):
            prefix = district
        else:
            prefix = f"杭州市{district}"
        return f"{prefix}{locality}{suffix}"

    def person(self, district: str, age_lo: int = 40, age_hi: int = 56) -> _Person:
        gender = "女" if self.rng.random() < 0.45 else "男"
        name = self.fake.name_female() if gender == "女" else self.fake.name_male()
        stype = self.weighted(_SCHOOL_TYPE_WEIGHTS, self.choices("school_types"))
        birth = dt.date(
            self.year - self.rng.randint(age_lo, age_hi),
            self.rng.randint(1, 12),
            self.rng.randint(1, 28),
        )
        return _Person(
            name=name,
            gender=gender,
            district=district,
            school=self.school(district, stype),
            school_type=stype,
            phone=self.phone(),
            email=f"p{self.rng.randrange(10**7):07d}@school.hz.edu.cn",
            birth=birth,
        )

    def district_office(self, district: str) -> tuple[str, str]:
        """(name, staff email) of the education authority that stamps a district's nominations."""
        name = "杭州市教育局" if district == "市直属学校" else f"{district}教育局"
        slug = _DISTRICT_SLUGS.get(
            district,
            f"d{self.districts.index(district) + 1:02d}" if district in self.districts else "other",
        )
        return name, f"district.{slug}@{DEMO_DOMAIN}"

    def id_number_for(self, p: _Person) -> str:
        region = _REGION_CODES.get(p.district, "330100")
        while True:
            seq = self.rng.randrange(1, 1000)
            if (seq % 2 == 1) != (p.gender == "男"):  # 17th digit: odd for men, even for women
                seq = (seq + 1) % 1000
            number = id_number(region, p.birth, seq)
            if number not in self._id_numbers:
                self._id_numbers.add(number)
                return number

    # -- reference data ---------------------------------------------------------------
    def choice_rows(self) -> None:
        for name, values in self.schemas.choice_lists.items():
            for i, value in enumerate(values):
                self.add(
                    "choices", {"list_name": name, "value": value, "sort": i + 1, "note": None}
                )

    def curriculum(self) -> None:
        for i, seed_row in enumerate(self.schemas["curriculum_modules"].seed):
            row = self.add("curriculum_modules", {"sort": i + 1, "note": None, **seed_row})
            self.modules.append(row)
            self.module_ids.append(row["id"])

    def seeded(self, exclude: set[str]) -> None:
        """The [[seed]] rows of every other schema (score weights…), as ``sheets init`` writes them."""
        for schema in self.schemas:
            if schema.key not in exclude:
                for seed_row in schema.seed:
                    self.add(schema.key, dict(seed_row))

    def cohort_rows(self) -> None:
        y = self.year
        plan = [
            (1, dt.date(y - 3, 9, 1), dt.date(y - 1, 2, 28), dt.date(y - 3, 5, 31), "已结业"),
            (2, dt.date(y - 2, 9, 1), dt.date(y, 2, 28), dt.date(y - 2, 5, 31), "考核中"),
            (3, dt.date(y - 1, 9, 1), dt.date(y + 1, 2, 28), dt.date(y - 1, 5, 31), "培训中"),
        ]
        names = {1: "第一期", 2: "第二期", 3: "第三期"}
        total = sum(int(m.get("hours") or 0) for m in self.modules) or 270
        for number, start, end, deadline, status in plan:
            row = self.add(
                "cohorts",
                {
                    "name": names[number],
                    "number": number,
                    "start_date": start,
                    "end_date": end,
                    "nomination_deadline": deadline,
                    "quota": max(50, self.per_cohort),
                    "total_hours": total,
                    "status": status,
                    "note": "课程按实施方案“课程配置”表实施，如有调整以通知为准",
                },
            )
            self.cohorts.append(_Cohort(row["id"], number, start, end, deadline, total))
            # the city's guide number per district: the places spread over the units, plus one
            # each so that the city review has more candidates than places (差额)
            quota = int(row["quota"])
            for i, district in enumerate(self.districts):
                share = quota // len(self.districts) + (1 if i < quota % len(self.districts) else 0)
                self.add(
                    "nomination_quotas",
                    {"cohort": row["id"], "district": district, "guide_number": share + 1},
                )

    # -- selection --------------------------------------------------------------------
    def nomination_plan(self) -> list[tuple[str, int]]:
        """(status, cohort number) for every nomination, admitted ones first per cohort."""
        plan: list[tuple[str, int]] = [
            ("已录取", c.number) for c in self.cohorts for _ in range(self.per_cohort)
        ]
        rest = self.n_nominations - len(plan)
        weights = {
            "未录取": 0.42,
            "草稿": 0.1,
            "已退回": 0.12,
            "已盖章": 0.08,
            "已报送": 0.08,
            "专家评审": 0.12,
            "拟录取": 0.04,
            "公示中": 0.04,
        }
        counts = {s: int(rest * w) for s, w in weights.items()}
        leftovers = sorted(weights, key=lambda s: rest * weights[s] - counts[s], reverse=True)
        for s in leftovers[: rest - sum(counts.values())]:
            counts[s] += 1
        for s in weights:  # every status appears, even in a tiny demo
            if counts[s] == 0 and counts["未录取"] > 1:
                counts[s] += 1
                counts["未录取"] -= 1
        for status, n in counts.items():
            for i in range(n):
                if status in ("未录取", "已退回"):
                    plan.append((status, self.cohorts[i % len(self.cohorts)].number))
                else:  # the workflow in progress belongs to the newest cohort
                    plan.append((status, self.cohorts[-1].number))
        return plan

    def nominations(self) -> None:
        plan = self.nomination_plan()
        districts = self.districts[:]
        self.rng.shuffle(districts)
        order = list(range(len(plan)))
        self.rng.shuffle(order)
        district_of: dict[int, str] = {}
        for rank, idx in enumerate(order):  # every reporting unit gets at least one nomination
            district_of[idx] = (
                districts[rank]
                if rank < len(districts)
                else self.weighted(_DISTRICT_WEIGHTS, self.districts)
            )
        cohort_by_number = {c.number: c for c in self.cohorts}
        experts = [
            (EXPERT_EMAIL, self.fake.name()),
            (f"expert2@{DEMO_DOMAIN}", self.fake.name()),
            (f"expert3@{DEMO_DOMAIN}", self.fake.name()),
        ]
        self.experts = experts
        self.admitted = {c.number: [] for c in self.cohorts}
        for idx, (status, number) in enumerate(plan):
            cohort = cohort_by_number[number]
            p = self.person(district_of[idx])
            row, quality = self.nomination_row(p, status, cohort)
            self.scores(row, status, quality, cohort)
            if status == "已录取":
                self.admitted[number].append((row, p))

    def invitations(self) -> None:
        """Fill-in invitations: self-applications that came through a link, plus open and
        expired links (the links themselves live only in the server's credential store)."""
        cohorts = {c.id: c for c in self.cohorts}
        used = [n for n in self.out.get("nominations", []) if n.get("route") == "个人自主申报"][
            : max(2, round(12 * self.scale))
        ]
        for n in used:
            c = cohorts[str(n["cohort"])]
            sent = self.at(self.days(c.deadline, -40, -20))
            _, staff = self.district_office(str(n["district"]))
            self.add(
                "nomination_invitations",
                {
                    "cohort": c.id,
                    "district": n["district"],
                    "invitee_name": n["name"],
                    "expires_at": sent + dt.timedelta(days=14),
                    "created_by": staff,
                    "used_at": sent + dt.timedelta(days=self.rng.randint(1, 10)),
                    "nomination": n["id"],
                },
            )
        last = self.cohorts[-1]
        for k, district in enumerate(self.districts[:2]):
            _, staff = self.district_office(district)
            sent = self.at(self.days(last.deadline, -30, -5))
            self.add(
                "nomination_invitations",
                {
                    "cohort": last.id,
                    "district": district,
                    "invitee_name": self.fake.name(),
                    # one still open, one that lapsed unused
                    "expires_at": sent + dt.timedelta(days=14 if k == 0 else 3),
                    "created_by": staff,
                    "used_at": None,
                    "nomination": None,
                },
            )

    def objections(self) -> None:
        """Objections received during publicity: one resolved, one still being checked."""
        public = [
            n for n in self.out.get("nominations", []) if n.get("status") in ("公示中", "已录取")
        ]
        for k, n in enumerate(public[:2]):
            start = n.get("publicity_start") or self.cohorts[-1].deadline
            received = start + dt.timedelta(days=1 + k)
            done = k == 0
            self.add(
                "publicity_objections",
                {
                    "nomination": n["id"],
                    "received_on": received,
                    "content": self.pick(_OBJECTIONS),
                    "status": "异议不成立" if done else "待核查",
                    "resolution": "经核查，所反映情况与事实不符，不影响录取。" if done else None,
                    "resolved_by": ADMIN_EMAIL if done else None,
                    "resolved_at": self.at(received + dt.timedelta(days=2)) if done else None,
                },
            )

    def nomination_row(self, p: _Person, status: str, cohort: _Cohort) -> tuple[Row, float]:
        rng = self.rng
        deadline = cohort.deadline
        fault: str | None = None
        if status == "已退回":
            fault = self.pick(["position", "tenure", "title", "missing"])
        elif status == "草稿" and rng.random() < 0.5:
            fault = "missing"
        route = "单位推荐" if rng.random() < 0.6 else "个人自主申报"
        position = "党组织书记" if rng.random() < 0.25 else "正职校长"
        if fault == "position":
            position = self.pick(["副校长", "党组织副书记", "校长助理"])
        if fault == "tenure":
            head_since = deadline - dt.timedelta(days=rng.randint(200, 3 * 365 - 30))
        elif rng.random() < 0.05:  # just over the line: worth seeing in the demo
            head_since = dt.date(deadline.year - 3, deadline.month, deadline.day) - dt.timedelta(
                days=rng.randint(1, 20)
            )
        else:
            head_since = deadline - dt.timedelta(days=rng.randint(3 * 365 + 30, 15 * 365))
        title = "正高级教师" if rng.random() < 0.18 else "高级教师"
        contribution = None
        if fault == "title":
            title = "一级教师"
        elif rng.random() < 0.06:
            # eligible through an outstanding contribution in management instead of the title
            title = "一级教师"
            contribution = self.pick(_CONTRIBUTIONS)
        locality = p.school.split("区")[-1][:2] if "区" in p.school else p.school[3:5]
        conds: dict[str, str | None] = {
            "cond_political": self.paragraph(_COND_POLITICAL),
            "cond_management": self.paragraph(_COND_MANAGEMENT, locality=locality),
            "cond_integrity": self.paragraph(_COND_INTEGRITY, 2),
            "cond_moral": self.paragraph(_COND_MORAL, 2),
            "cond_development": self.paragraph(_COND_DEVELOPMENT, 3, district=p.district),
            "cond_reputation": self.paragraph(_COND_REPUTATION, 2),
        }
        declared: bool | None = True
        if fault == "missing":
            for key in self.rng.sample(sorted(conds), 2):
                conds[key] = None
            declared = None
        declared_on = self.days(deadline, -40, -10) if declared else None
        head_year = head_since.year
        start_year = p.birth.year + rng.randint(21, 23)
        deputy_year = min(head_year - 2, start_year + rng.randint(8, 14))
        resume = "\n".join(
            [
                f"{start_year}.08—{deputy_year}.07 {self.school(p.district, p.school_type)} 教师、教研组长、中层干部",
                f"{deputy_year}.08—{head_year}.{head_since.month:02d} {self.school(p.district, p.school_type)} 副校长",
                f"{head_year}.{head_since.month:02d}—至今 {p.school} {position}",
            ]
        )
        rank = [
            "草稿",
            "已退回",
            "已盖章",
            "已报送",
            "专家评审",
            "拟录取",
            "公示中",
            "已录取",
            "未录取",
        ]
        stage = rank.index(status) if status in rank else 0
        stamped = status not in ("草稿", "已退回")
        submitted = stage >= 3
        publicity = status in ("公示中", "已录取")
        invited = route == "个人自主申报" or rng.random() < 0.3
        office, office_email = self.district_office(p.district)
        return_reason = None
        if status == "已退回":
            return_reason = {
                "position": f"现任职务为“{position}”，不符合“现任正职校长或党组织书记”的选拔条件，本次不予推荐。",
                "tenure": f"任正职时间为 {head_since:%Y年%m月%d日}，至推荐截止日（{deadline:%Y年%m月%d日}）不满 3 年，不符合“任正职满3年”的条件。",
                "title": "专业技术职务为一级教师，且未填写“学校管理突出贡献”，请补充突出贡献材料及佐证后重新提交。",
                "missing": "选拔条件陈述未填写完整，办学承诺未签署，请补充完整后重新提交。",
            }[fault or "missing"]
        quality = (
            rng.uniform(84, 96) if status in ("已录取", "拟录取", "公示中") else rng.uniform(70, 84)
        )
        publicity_start = deadline + dt.timedelta(days=52) if publicity else None
        row = self.add(
            "nominations",
            {
                "cohort": cohort.id,
                "route": route,
                "recommending_unit": (office if rng.random() < 0.5 else p.school)
                if route == "单位推荐"
                else None,
                "district": p.district,
                "name": p.name,
                "gender": p.gender,
                "birth_date": p.birth,
                "id_number": self.id_number_for(p),
                "ethnicity": "汉族"
                if rng.random() < 0.95
                else self.pick(["畲族", "回族", "满族", "土家族"]),
                "political_status": "中共党员"
                if rng.random() < 0.9
                else self.pick(["民主党派", "群众"]),
                "education": self.weighted(
                    {"硕士研究生": 4, "大学本科": 6, "博士研究生": 1}, self.choices("educations")
                ),
                "phone": p.phone,
                "email": p.email,
                "school": p.school,
                "school_type": p.school_type,
                "position": position,
                "head_since": head_since,
                "title": title,
                "honors": "；".join(
                    f"{rng.randint(deadline.year - 5, deadline.year - 1)}年 {h}"
                    for h in rng.sample(_PERSONAL_HONORS, rng.randint(1, 3))
                ),
                "work_resume": resume,
                "contribution": contribution,
                **conds,
                "no_safety_accident": declared,
                "no_irregular_conduct": declared,
                "no_ideology_issue": declared,
                "no_opinion_incident": declared,
                "declared_on": declared_on,
                "attachments": "；".join(
                    f"F{self.year}-{rng.randrange(10**5):05d}" for _ in range(rng.randint(1, 3))
                )
                if stage >= 1
                else None,
                "invited_by": office_email if invited else None,
                "invited_at": self.at(self.days(deadline, -60, -45)) if invited else None,
                "status": status,
                "return_reason": return_reason,
                "stamped_by": office_email if stamped else None,
                "stamped_at": self.at(self.days(deadline, -20, -1)) if stamped else None,
                "submitted_at": self.at(self.days(deadline, 1, 10)) if submitted else None,
                "score_total": None,
                "decision_note": (
                    "经差额审核，综合得分未进入本期录取名额。"
                    if status == "未录取"
                    else "经专家组差额审核、市教育局审定，拟录取。"
                    if status in ("拟录取", "公示中", "已录取")
                    else None
                ),
                "publicity_start": publicity_start,
                "publicity_end": publicity_start + dt.timedelta(days=7)
                if publicity_start
                else None,
            },
        )
        return row, quality

    def scores(self, nom: Row, status: str, quality: float, cohort: _Cohort) -> None:
        """Expert scores for nominations that reached the city review."""
        if status not in ("专家评审", "拟录取", "公示中", "已录取", "未录取"):
            return
        criteria = self.choices("score_criteria")
        # the seeded 评分权重: score_total is the mean of each expert's weighted total
        weights = {r["criterion"]: float(r["weight"]) for r in self.schemas["score_weights"].seed}
        totals: list[float] = []
        for e_idx, (email, name) in enumerate(self.experts):
            # in the review now: the demo expert still has about half of the queue to score
            if status == "专家评审" and e_idx == 0 and self.rng.random() < 0.5:
                continue
            day = self.days(cohort.deadline, 15, 35)
            weighted = 0.0
            for crit in criteria:
                score = round(min(100.0, max(0.0, self.rng.gauss(quality, 3.5))) * 2) / 2
                weighted += weights.get(crit, 0.0) * score
                self.add(
                    "expert_scores",
                    {
                        "nomination": nom["id"],
                        "expert_email": email,
                        "expert_name": name,
                        "criterion": crit,
                        "score": score,
                        "comment": self.pick(
                            [
                                "材料翔实，办学成果突出。",
                                "办学特色鲜明，辐射作用明显。",
                                "陈述较笼统，佐证材料不足。",
                                "理念先进，队伍建设成效显著。",
                                None,
                            ]
                        ),
                        "scored_at": self.at(day),
                    },
                )
            totals.append(weighted / (sum(weights.get(c, 0.0) for c in criteria) or 1.0))
        if status != "专家评审" and totals:
            nom["score_total"] = round(sum(totals) / len(totals), 2)

    # -- trainees and mentors -----------------------------------------------------------
    def trainees(self) -> None:
        for cohort in self.cohorts:
            for i, (nom, p) in enumerate(self.admitted[cohort.number]):
                email = p.email
                if i == 0 and cohort is self.cohorts[0]:
                    email = nom["email"] = TRAINEE_EMAIL
                elif i == 0 and cohort is self.cohorts[-1]:
                    email = nom["email"] = TRAINEE2_EMAIL
                admitted = nom["publicity_end"] + dt.timedelta(days=3)
                row = self.add(
                    "trainees",
                    {
                        "nomination": nom["id"],
                        "cohort": cohort.id,
                        "name": p.name,
                        "gender": p.gender,
                        "district": p.district,
                        "school": p.school,
                        "position": nom["position"],
                        "phone": p.phone,
                        "email": email,
                        "status": "在训",
                        "status_reason": None,
                        "admitted_at": admitted,
                        "note": None,
                    },
                )
                cohort.trainees.append(row)
                self.history(
                    row,
                    None,
                    "在训",
                    "经专家组差额审核、市教育局审定并公示，录取为培养人选。",
                    admitted,
                )

    def history(
        self,
        trainee: Row,
        old: str | None,
        new: str,
        reason: str,
        day: dt.date,
        ground: str | None = None,
    ) -> None:
        self.add(
            "trainee_status_history",
            {
                "trainee": trainee["id"],
                "from_status": old,
                "to_status": new,
                "ground": ground,
                "reason": reason,
                "changed_by": ADMIN_EMAIL,
                "changed_at": self.at(day, 9, 17),
            },
        )

    def mentors(self) -> None:
        for i in range(self.n_mentors):
            org, title = self.pick(_MENTOR_ORGS)
            email = (
                MENTOR_EMAIL
                if i == 0
                else MENTOR2_EMAIL
                if i == 1
                else f"m{i + 1:03d}@mentors.{DEMO_DOMAIN}"
            )
            retired = self.n_mentors >= 10 and i == self.n_mentors - 1
            self.mentor_rows.append(
                self.add(
                    "mentors",
                    {
                        "name": self.fake.name(),
                        "organisation": org,
                        "title": title,
                        "expertise": "、".join(self.rng.sample(_EXPERTISE, 2)),
                        "phone": self.phone(),
                        "email": email,
                        "active": not retired,
                        "note": "已退休，不再分配新学员" if retired else None,
                    },
                )
            )

    def assignments(self) -> None:
        active = [m for m in self.mentor_rows if m["active"]]
        trainees = [t for c in self.cohorts for t in c.trainees]
        # mentor 0 (the demo mentor) must lead at least three trainees, so never use more
        # lead mentors than a third of the trainees
        leads = active[: max(1, min(len(active), len(trainees) // 3))]
        cohort_of = {c.id: c for c in self.cohorts}
        for i, t in enumerate(trainees):
            c = cohort_of[t["cohort"]]
            lead = leads[i % len(leads)]
            self.lead_of[t["id"]] = lead
            start = self.days(c.start, 0, 20)
            end = c.end if c.end < self.today else None
            team = [(lead, "主导师")]
            others = [m for m in active if m is not lead]
            for m in self.rng.sample(others, min(len(others), self.rng.randint(0, 2))):
                team.append((m, "协作导师"))
            for m, role in team:
                self.add(
                    "mentor_assignments",
                    {
                        "trainee": t["id"],
                        "mentor": m["id"],
                        "role": role,
                        "start_date": start,
                        "end_date": end,
                        "note": None,
                    },
                )
                n_logs = self.rng.randint(2, 6) if role == "主导师" else self.rng.randint(0, 2)
                last = min(self.today, c.end)
                for _ in range(n_logs):
                    topic = self.pick(_GUIDANCE_TOPICS)
                    self.add(
                        "mentoring_logs",
                        {
                            "mentor": m["id"],
                            "trainee": t["id"],
                            "date": self.between(start, last),
                            "form": self.pick(self.choices("guidance_forms")),
                            "hours": self.pick([1, 1.5, 2, 2, 3]),
                            "topic": topic,
                            "notes": f"围绕“{topic}”与{t['name']}交流，梳理了现阶段的进展与困难，建议下一步聚焦学校发展的关键问题，形成可检验的阶段成果。",
                        },
                    )

    # -- curriculum delivery ------------------------------------------------------------
    def session_plan(self) -> list[tuple[int, str, list[float], float, float]]:
        """Per module: (module index, session type, hours per session, window start, window end)."""
        plan = []
        n = max(1, len(self.modules))
        for i, m in enumerate(self.modules):
            topic = str(m.get("topic", ""))
            hours = int(m.get("hours") or 0)
            if "工作室" in topic:
                stype = "工作室"
            elif "结对" in topic:
                stype = "结对"
            elif "论坛" in topic:
                stype = "论坛"
            elif "科技" in topic or "考察" in topic:
                stype = "考察"
            elif "国内外" in topic or "海外" in topic:
                stype = "海外研修"
            else:
                stype = "集中研修"
            size = 4 if m.get("series") == "研究展示" else 8
            chunks = [float(size)] * (hours // size)
            if hours % size:
                if chunks and hours % size < size / 2:
                    chunks[-1] += hours % size
                else:
                    chunks.append(float(hours % size))
            spread = stype in _SPREAD_TYPES or m.get("series") == "研究展示"
            lo, hi = (0.08, 0.93) if spread else (0.02 + 0.8 * i / n, 0.02 + 0.8 * i / n)
            plan.append((i, stype, chunks, lo, hi))
        return plan

    def sessions(self) -> None:
        locations = {
            "集中研修": [
                "杭州市中小学干部培训中心",
                "浙江大学紫金港校区",
                "华东师范大学",
                "杭州市教育科学研究院",
            ],
            "工作室": ["各名校长工作室所在学校"],
            "论坛": ["杭州国际博览中心", "杭州市中小学干部培训中心"],
        }
        for c in self.cohorts:
            span = (c.end - c.start).days - 14
            rows: list[Row] = []
            for i, stype, chunks, lo, hi in self.session_plan():
                module = self.modules[i]
                topic = str(module.get("topic", ""))
                day = c.start + dt.timedelta(days=int(span * lo) - 1)
                for k, hours in enumerate(chunks):
                    if hi > lo:
                        frac = lo + (hi - lo) * k / max(1, len(chunks) - 1)
                        day = c.start + dt.timedelta(
                            days=int(span * frac) + self.rng.randint(-4, 4)
                        )
                    else:  # a block of consecutive working days
                        day += dt.timedelta(days=1)
                    while day.weekday() >= 5:
                        day += dt.timedelta(days=1)
                    if stype == "海外研修":
                        location = _OVERSEAS[(c.number - 1) % len(_OVERSEAS)]
                    elif stype == "考察":
                        location = self.pick(_TECH_SITES)
                    elif stype == "结对":
                        location = self.pick(_PAIRING_REGIONS)[0]
                    else:
                        location = self.pick(locations.get(stype, locations["集中研修"]))
                    rows.append(
                        {
                            "cohort": c.id,
                            "module": self.module_ids[i],
                            "title": f"{topic}（{k + 1}）" if len(chunks) > 1 else topic,
                            "date": day,
                            "start_time": "09:00" if hours >= 6 else self.pick(["09:00", "13:30"]),
                            "hours": hours,
                            "location": location,
                            "type": stype,
                            "lecturer": self.fake.name()
                            + self.pick(["教授", "研究员", "校长", "特级教师"]),
                            "note": None,
                        }
                    )
            rows.sort(key=lambda r: r["date"])
            c.sessions = [self.add("sessions", r) for r in rows]

    def attendance(self) -> None:
        """Every trainee × every session held so far; a few trainees cross the 1/5 absence line."""
        for c in self.cohorts:
            held = [s for s in c.sessions if s["date"] <= self.today]
            limit = c.total_hours / 5
            n = len(c.trainees)
            # Profiles are dealt from the end of the roster, about one of each per 50 trainees;
            # the first trainee (the demo trainee in cohort 1) is always an ordinary one.
            k = max(1, round(n / 50))
            special = ["cross"] * k + (["fail"] if c.number == 1 else ["warn"]) * k
            if n >= 8 and c.number == 2:
                special += ["cross_open"] * k  # crossed the line, not yet processed by the office
            if n >= 20:
                special += ["warn"] * k
            special = special[: max(0, n - 1)] if n >= 3 else []
            profiles = ["normal"] * (n - len(special)) + special[::-1]
            c_profiles = dict(zip((t["id"] for t in c.trainees), profiles, strict=True))
            for t in c.trainees:
                profile = c_profiles[t["id"]]
                t["_profile"] = profile
                self.attend(t, c, held, profile, limit)

    def attend(self, t: Row, c: _Cohort, held: list[Row], profile: str, limit: float) -> None:
        rng = self.rng
        absent_plan: set[int] = set()
        if profile in ("cross", "cross_open"):
            big = [i for i, s in enumerate(held) if s["hours"] >= 8][: max(1, int(len(held) * 0.8))]
            step = max(1, len(big) // 8)
            absent_plan = set(big[::step][:8])
        elif profile == "warn":
            big = [i for i, s in enumerate(held) if s["hours"] >= 8]
            absent_plan = set(rng.sample(big, min(len(big), 5)))
        absence = 0.0
        eliminated_on: dt.date | None = None
        for i, s in enumerate(held):
            if eliminated_on and c.number != 3 and s["date"] > eliminated_on:
                break  # eliminated trainees stop appearing on the roll
            hours = float(s["hours"])
            leave_reason = leave_status = None
            if i in absent_plan:
                if profile == "warn" and rng.random() < 0.6:
                    status, attended = "请假", 0.0
                    leave_reason, leave_status = (
                        self.pick(["学校迎接省级督导评估", "突发公务需处理", "身体原因住院"]),
                        "已批准",
                    )
                else:
                    status, attended = "缺勤", 0.0
            else:
                # only ordinary trainees miss sessions at random, and never enough to near the line
                r = rng.random() if profile in ("normal", "fail") else 1.0
                if r < 0.03 and absence + 8 < limit * 0.6:
                    status, attended = "请假", 0.0
                    leave_reason = self.pick(
                        ["参加区教育局重要会议", "学校迎接检查", "家中老人住院", "因公出差"]
                    )
                    leave_status = (
                        "待审批"
                        if s is held[-1]
                        else self.pick(["已批准", "已批准", "已批准", "已拒绝"])
                    )
                elif r < 0.06 and hours > 2 and absence + 2 < limit * 0.6:
                    status, attended = "迟到早退", hours - self.pick([0.5, 1.0, 1.5, 2.0])
                elif r < 0.07 and absence + hours < limit * 0.6:
                    status, attended = "缺勤", 0.0
                else:
                    status, attended = "出勤", hours
            absence += hours - attended
            self.add(
                "attendance",
                {
                    "session": s["id"],
                    "trainee": t["id"],
                    "status": status,
                    "hours_attended": attended,
                    "leave_reason": leave_reason,
                    "leave_status": leave_status,
                    "recorded_by": ADMIN_EMAIL,
                    "note": None,
                },
            )
            if profile == "cross" and eliminated_on is None and absence > limit:
                eliminated_on = s["date"] + dt.timedelta(days=7)
                t["_absence_at_elimination"] = absence
        t["_absence"] = absence
        t["_eliminated_on"] = eliminated_on

    def statuses(self) -> None:
        """Statuses that follow from attendance and the cohort's stage, with their history."""
        for c in self.cohorts:
            for t in c.trainees:
                profile = t["_profile"]
                absence = t["_absence"]
                if profile == "cross" and t["_eliminated_on"]:
                    hours = t["_absence_at_elimination"]
                    warn_day = t["_eliminated_on"] - dt.timedelta(days=30)
                    self.history(
                        t,
                        "在训",
                        "预警",
                        f"累计缺勤已达 {hours - 8:g} 学时，接近总学时五分之一（{c.total_hours / 5:g} 学时）。",
                        warn_day,
                        "累计缺勤超过五分之一",
                    )
                    if c.number == 3:
                        t["status"] = "预警"
                        t["status_reason"] = (
                            f"累计缺勤 {absence:g} 学时，已超过总学时 {c.total_hours} 的五分之一（{c.total_hours / 5:g} 学时），待市教育局审定淘汰。"
                        )
                    else:
                        t["status"] = "淘汰"
                        t["status_reason"] = (
                            f"累计缺勤 {hours:g} 学时，超过总学时 {c.total_hours} 的五分之一（{c.total_hours / 5:g} 学时）。"
                        )
                        self.history(
                            t,
                            "预警",
                            "淘汰",
                            t["status_reason"],
                            t["_eliminated_on"],
                            "累计缺勤超过五分之一",
                        )
                elif profile == "warn":
                    t["status"] = "预警"
                    t["status_reason"] = (
                        f"累计缺勤 {absence:g} 学时，接近总学时五分之一（{c.total_hours / 5:g} 学时），请严格履行请假手续。"
                    )
                    self.history(
                        t,
                        "在训",
                        "预警",
                        t["status_reason"],
                        min(self.today, c.end) - dt.timedelta(days=20),
                        "累计缺勤超过五分之一",
                    )

    # -- outputs of the cycle -------------------------------------------------------------
    def active_until(self, t: Row, c: _Cohort) -> dt.date:
        """The last day a trainee took part: today, the cohort's end, or their elimination."""
        last = min(self.today, c.end)
        if t["status"] == "淘汰" and t.get("_eliminated_on"):
            last = min(last, t["_eliminated_on"])
        return last

    def progress(self, c: _Cohort) -> float:
        """How far through its cycle a cohort is today, 0–1."""
        return min(1.0, max(0.0, (self.today - c.start).days / max(1, (c.end - c.start).days)))

    def deliverables(self) -> None:
        for c in self.cohorts:
            progress = self.progress(c)
            past = [s for s in c.sessions if s["date"] <= self.today]
            for idx, t in enumerate(c.trainees):
                reviewer = self.lead_of[t["id"]]["email"]
                dropped = t["status"] == "淘汰"
                share = 0.4 if dropped else progress
                if c.number == 1 and idx == 0:
                    share = 1.0
                n_logs = round((10 + self.rng.randint(0, 4)) * share)
                if c.number == 2 and idx == 1 and not dropped:
                    n_logs = 8  # short of the ten required logs
                for k in range(n_logs):
                    s = past[k % len(past)] if past else None
                    kind_title = f"学习日志：{s['title']}" if s else f"理论学习日志（{k + 1}）"
                    day = (
                        s["date"] + dt.timedelta(days=3) if s else self.between(c.start, self.today)
                    )
                    self.deliverable(
                        t,
                        c,
                        "学习考察日志",
                        kind_title[:100],
                        self.rng.randint(1200, 3200),
                        day,
                        reviewer,
                    )
                if share >= 0.95:
                    short = c.number == 2 and idx == 2
                    chars = (
                        self.rng.randint(9000, 9900) if short else self.rng.randint(10200, 18500)
                    )
                    self.deliverable(
                        t,
                        c,
                        "课题结题报告",
                        "课题结题报告",
                        chars,
                        c.end - dt.timedelta(days=40),
                        reviewer,
                        returned=short,
                    )
                    self.deliverable(
                        t,
                        c,
                        "论文专著",
                        self.pick(["我的办学主张", "办学思想凝炼", "学校治理的实践与思考"]),
                        self.rng.randint(8000, 16000),
                        c.end - dt.timedelta(days=20),
                        reviewer,
                        manual=self.rng.random() < 0.15,
                    )
                if share >= 0.45:
                    self.deliverable(
                        t,
                        c,
                        "研修报告",
                        "海内外研修报告",
                        self.rng.randint(2100, 5200),
                        c.start + dt.timedelta(days=int((c.end - c.start).days * 0.45)),
                        reviewer,
                    )
                n_talks = 3 + self.rng.randint(0, 2) if share >= 0.95 else int(3 * share)
                for k in range(n_talks):
                    day = self.between(c.start + dt.timedelta(days=90), self.active_until(t, c))
                    self.deliverable(
                        t,
                        c,
                        "交流报告",
                        f"交流报告（{k + 1}）：{self.pick(_TALK_TOPICS)}",
                        self.rng.randint(3000, 6500),
                        day,
                        reviewer,
                    )

    def deliverable(
        self,
        t: Row,
        c: _Cohort,
        kind: str,
        title: str,
        chars: int,
        day: dt.date,
        reviewer: str,
        *,
        returned: bool = False,
        manual: bool = False,
    ) -> None:
        day = min(day, self.today)
        submitted = self.at(day)
        pending = (c.number == 3 and self.rng.random() < 0.3) or day > self.today - dt.timedelta(
            days=10
        )
        method = "人工填报" if manual else "系统自动统计（汉字及标点计1，英文单词、数字串各计1）"
        base = {
            "trainee": t["id"],
            "kind": kind,
            "title": title if kind not in ("课题结题报告", "论文专著") else f"{title}——{t['name']}",
            "file_ref": _stored_name(f"{t['id']}-{self.rng.getrandbits(40):010x}"),
            "char_count": chars,
            "count_method": method,
            "manual_count_reason": "专著为纸质出版物，按版权页字数人工填报" if manual else None,
        }
        if returned:
            self.add(
                "deliverables",
                {
                    **base,
                    "version": 1,
                    "review_status": "已退回",
                    "review_comment": f"字数为 {chars}，少于 10000 字的要求；研究过程与成果部分需充实。",
                    "reviewed_by": reviewer,
                    "reviewed_at": submitted + dt.timedelta(days=5),
                    "submitted_at": submitted,
                },
            )
            resubmitted = submitted + dt.timedelta(days=20)
            self.add(
                "deliverables",
                {
                    **base,
                    "file_ref": _stored_name(f"{base['file_ref']}-2"),
                    "char_count": self.rng.randint(10300, 12800),
                    "version": 2,
                    "review_status": "待审阅",
                    "review_comment": None,
                    "reviewed_by": None,
                    "reviewed_at": None,
                    "submitted_at": resubmitted,
                },
            )
            return
        self.add(
            "deliverables",
            {
                **base,
                "version": 1,
                "review_status": "待审阅" if pending else "已通过",
                "review_comment": None
                if pending
                else self.pick(
                    ["内容充实，反思深入。", "结构清晰，建议进一步提炼观点。", "同意通过。"]
                ),
                "reviewed_by": None if pending else reviewer,
                "reviewed_at": None
                if pending
                else submitted + dt.timedelta(days=self.rng.randint(2, 12)),
                "submitted_at": submitted,
            },
        )

    def research(self) -> None:
        for c in self.cohorts:
            progress = self.progress(c)
            for t in c.trainees:
                stype = self.pick(["小学", "初中", "高中", "学前", "九年一贯制学校", "中小学"])
                level = self.weighted(
                    {"市级": 6, "省级": 3, "国家级": 1, "区县级": 0.5 if c.number == 3 else 0},
                    self.choices("levels"),
                )
                approved = self.days(c.start, 60, 150)
                finished = progress >= 0.95 and t["status"] != "淘汰"
                status = (
                    "已结题"
                    if finished
                    else (
                        "申报中"
                        if approved > self.today
                        else self.pick(["已立项", "研究中", "研究中"])
                    )
                )
                outcome = self.pick(["获奖", "获奖", "发表", "无"]) if finished else None
                code = {"市级": "HZJK", "省级": "ZJJK", "国家级": "BHA", "区县级": "QJK"}.get(
                    level, "JK"
                )
                self.add(
                    "research_projects",
                    {
                        "trainee": t["id"],
                        "title": self.pick(_RESEARCH_TITLES).format(stype=stype),
                        "level": level,
                        "approval_number": f"{approved.year}{code}{self.rng.randint(1, 399):03d}"
                        if status != "申报中"
                        else None,
                        "approved_on": approved if status != "申报中" else None,
                        "status": status,
                        "concluded_on": c.end - dt.timedelta(days=self.rng.randint(30, 60))
                        if finished
                        else None,
                        "outcome_type": outcome,
                        "outcome_level": self.pick(["市级", "省级", "国家级"])
                        if outcome in ("获奖", "发表")
                        else None,
                        "outcome_note": {
                            "获奖": "研究成果获教育科研优秀成果二等奖。",
                            "发表": "阶段成果发表于《中小学管理》。",
                            "无": "成果已汇编成册，尚未获奖或发表。",
                        }.get(outcome or "", None),
                    },
                )

    def presentations(self) -> None:
        for c in self.cohorts:
            progress = self.progress(c)
            for idx, t in enumerate(c.trainees):
                n = (
                    self.rng.randint(3, 5)
                    if progress >= 0.95
                    else int(self.rng.randint(0, 3) * progress + 0.5)
                )
                if c.number == 2 and idx == 3:
                    n = 2  # one talk short of the three required
                if t["status"] == "淘汰":
                    n = min(n, 1)
                for _ in range(n):
                    forum, organiser, level = self.pick(_FORUMS)
                    self.add(
                        "presentations",
                        {
                            "trainee": t["id"],
                            "date": self.between(
                                c.start + dt.timedelta(days=60), self.active_until(t, c)
                            ),
                            "forum": forum,
                            "organiser": organiser,
                            "level": level,
                            "form": self.pick(self.choices("presentation_forms")),
                            "topic": self.pick(_TALK_TOPICS),
                        },
                    )

    def pairings(self) -> None:
        for c in self.cohorts:
            progress = self.progress(c)
            for t in c.trainees:
                region, counties = self.pick(_PAIRING_REGIONS)
                county = self.pick(counties)
                stype = self.pick(["第一小学", "民族中学", "第二中学", "中心小学", "实验幼儿园"])
                self.add(
                    "pairings",
                    {
                        "trainee": t["id"],
                        "partner_school": f"{county}{stype}",
                        "region": region,
                        "start_date": self.days(c.start, 30, 90),
                        "end_date": c.end if c.end < self.today else None,
                        "activities": "送教上门 2 次；远程同步教研每月 1 次；接待结对学校干部来杭跟岗一周；共建校本课程 1 门。",
                        "hours": round(30 * progress + self.rng.uniform(-4, 6), 1)
                        if progress > 0.1
                        else 0,
                    },
                )

    def plans(self) -> None:
        for c in self.cohorts:
            progress = self.progress(c)
            for t in c.trainees:
                lead = self.lead_of[t["id"]]
                signed = c.number != 3 or self.rng.random() < 0.8
                signed_at = self.at(self.days(c.start, 20, 45)) if signed else None
                self.add(
                    "development_plans",
                    {
                        "trainee": t["id"],
                        "goals": (
                            f"1. 凝炼“{self.pick(_MOTTOS)}”的办学思想，形成有影响力的论文或专著；"
                            "2. 主持 1 项市级及以上课题并结题；3. 建设名校长工作室，带出 2–3 名优秀校长；"
                            "4. 在市级及以上论坛展示 3 次以上；5. 深化对口地区学校结对。"
                        ),
                        "milestones": "第一学期：完成学校发展诊断与课题立项；第二学期：工作室组建运行、海内外研修；第三学期：课题结题、论文撰写与成果展示。",
                        "mentor_signoff": signed,
                        "signed_by": lead["email"] if signed else None,
                        "signed_at": signed_at,
                        "progress_notes": "课题已立项，工作室按月开展活动。"
                        if progress > 0.3
                        else None,
                        "self_assessment": "对照个人发展规划，各项目标基本达成，办学思想进一步清晰。"
                        if progress >= 0.95 and t["status"] != "淘汰"
                        else None,
                    },
                )

    def workshops(self) -> None:
        outcomes = self.choices("member_outcomes")
        for c in self.cohorts:
            progress = self.progress(c)
            last = min(self.today, c.end)
            for t in c.trainees:
                founded = self.between(
                    c.start + dt.timedelta(days=30), min(last, c.start + dt.timedelta(days=150))
                )
                w = self.add(
                    "workshops",
                    {
                        "trainee": t["id"],
                        "name": f"{t['name']}名校长工作室",
                        "founded_on": founded,
                        "focus": self.pick(_WORKSHOP_FOCUS),
                        "district": t["district"],
                        "base_school": t["school"],
                        "note": None,
                    },
                )
                for k in range(self.rng.randint(3, 8)):
                    district = (
                        t["district"] if self.rng.random() < 0.7 else self.pick(self.districts)
                    )
                    outcome = "暂无"
                    if progress >= 0.95 and self.rng.random() < 0.3:
                        outcome = self.pick([o for o in outcomes if o != "暂无"] or outcomes)
                    member = self.person(district, 32, 48)
                    left_on = self.days(founded, 200, 300)
                    self.add(
                        "workshop_members",
                        {
                            "workshop": w["id"],
                            "name": member.name,
                            "school": member.school,
                            "district": district,
                            "position": self.pick(
                                ["副校长", "副校长", "校长助理", "党组织副书记", "正职校长"]
                            ),
                            "joined_on": self.days(founded, 0, 30),
                            "left_on": left_on
                            if left_on < self.today and self.rng.random() < 0.05
                            else None,
                            "role": "核心成员" if k < 2 else ("学术助理" if k == 2 else "成员"),
                            "outcome": outcome,
                            "outcome_note": {
                                "提任校长": f"{self.year - 1}年经组织任命为{member.school}校长。",
                                "提任副校长": "经组织任命为副校长。",
                                "获评名校长": "获评区名校长。",
                                "获奖": "管理案例获市教育管理创新一等奖。",
                            }.get(outcome),
                        },
                    )
                n_act = round(self.rng.randint(3, 8) * max(0.2, progress))
                for _ in range(n_act):
                    topic = self.pick(_WORKSHOP_TOPICS)
                    self.add(
                        "workshop_activities",
                        {
                            "workshop": w["id"],
                            "date": self.between(founded, last),
                            "topic": topic,
                            "activity_type": self.pick(self.choices("workshop_activity_types")),
                            "participants": self.rng.randint(6, 40),
                            "hours": self.pick([2, 3, 4, 4, 6]),
                            "location": t["school"],
                            "note": f"工作室成员围绕“{topic}”开展活动，形成活动纪要和改进清单。",
                        },
                    )

    def assessments(self) -> None:
        """Cohort 1 is finished: assessed against each plan, certificates for those who passed."""
        c = self.cohorts[0]
        decided = self.at(c.end + dt.timedelta(days=30), 9, 17)
        issued = c.end + dt.timedelta(days=45)
        cert_seq = 0
        for idx, t in enumerate(c.trainees):
            if t["status"] == "淘汰":
                continue
            if t["_profile"] == "fail":
                decision = "不合格"
            elif idx == 0 or self.rng.random() < 0.2:
                decision = "优秀"
            else:
                decision = "合格"
            self.add(
                "assessments",
                {
                    "trainee": t["id"],
                    "decision": decision,
                    "plan_review": "对照一人一方案：课题已结题，工作室运行规范，论坛展示达到要求。"
                    if decision != "不合格"
                    else "课题未结题，结业作业未按时完成。",
                    "note": "综合考核不合格，不予结业。"
                    if decision == "不合格"
                    else "综合考核合格，准予结业。",
                    "decided_by": ADMIN_EMAIL,
                    "decided_at": decided,
                },
            )
            if decision == "不合格":
                old = t["status"]
                t["status"] = "未结业"
                t["status_reason"] = "未能完成规定学习任务，综合考核不合格。"
                self.history(
                    t,
                    old,
                    "未结业",
                    t["status_reason"],
                    decided.date(),
                    "未完成规定学习任务或考核不合格",
                )
                continue
            old = t["status"]
            t["status"] = "结业"
            self.history(t, old, "结业", f"综合考核{decision}，颁发结业证书。", issued)
            cert_seq += 1
            self.add(
                "certificates",
                {
                    "trainee": t["id"],
                    "number": f"MXZ-{issued.year}-{c.number}-{cert_seq:03d}",
                    "verify_code": "".join(self.rng.choice(_VERIFY_ALPHABET) for _ in range(10)),
                    "issued_on": issued,
                    "hours": float(c.total_hours),
                    "revoked": False,
                    "revoke_reason": None,
                },
            )

    def expenses(self) -> None:
        k = max(1, round(3 * self.scale))
        categories = self.choices("expense_categories")
        for c in self.cohorts:
            last = min(self.today, c.end)
            for cat in categories:
                for _ in range(k):
                    payees = _EXPENSE_PAYEES.get(cat, ["杭州市中小学干部培训中心"])
                    amount = (
                        _EXPENSE_PER_TRAINEE.get(cat, 200)
                        * self.per_cohort
                        * self.rng.uniform(0.6, 1.4)
                        * 3
                        / k
                    )
                    school_paid = cat in ("伙食费", "住宿费") and self.rng.random() < 0.5
                    self.add(
                        "expenses",
                        {
                            "cohort": c.id,
                            "category": cat,
                            "amount": round(amount, 2),
                            "date": self.between(c.start, last),
                            "payee": self.pick(payees),
                            "source": "学校培训经费" if school_paid else "市专项经费",
                            "voucher_no": f"{c.start.year}-{self.rng.randrange(1, 10**5):05d}",
                            "note": f"{self.out['cohorts'][c.number - 1]['name']}{cat}",
                        },
                    )

    def budgets(self) -> None:
        """经费预算 (the completion plugin's sheet, when loaded): per cohort, each of the 8
        categories × 2 sources, a little above the expected spending of a full cohort. Schools
        pay about half of board and lodging; their other lines are budgeted at 0."""
        if "budgets" not in self.out:
            return
        # A random source of its own: the other sheets' draws stay as they were.
        rng = random.Random(f"budgets-{self.seed}-{self.year}")
        sources = self.choices("fund_sources")
        city, school = (sources + ["", ""])[:2]
        for c in self.cohorts:
            name = self.out["cohorts"][c.number - 1]["name"]
            for cat in self.choices("expense_categories"):
                expected = _EXPENSE_PER_TRAINEE.get(cat, 200) * self.per_cohort * 3
                total = round(expected * rng.uniform(1.05, 1.2), -2)
                school_share = 0.5 if cat in ("伙食费", "住宿费") else 0.0
                split = {school: round(total * school_share, -2)}
                split[city] = total - split[school]
                for source in (city, school):
                    if not source:
                        continue
                    self.add(
                        "budgets",
                        {
                            "cohort": c.id,
                            "category": cat,
                            "source": source,
                            "amount": float(split[source]),
                            "note": f"{name}培养经费预算（{c.start.year}年批复）"
                            if split[source]
                            else "本类支出不由该来源列支",
                        },
                    )

    def users(self) -> None:
        first = self.cohorts[0].trainees[0]
        current = self.cohorts[-1].trainees[0]
        rows = [
            (ADMIN_EMAIL, "干训中心管理员", "admin", None, None, None),
            (
                f"district.shangcheng@{DEMO_DOMAIN}",
                "上城区教育局",
                "district",
                "上城区",
                None,
                None,
            ),
            (f"district.xihu@{DEMO_DOMAIN}", "西湖区教育局", "district", "西湖区", None, None),
            (EXPERT_EMAIL, self.experts[0][1], "expert", None, None, None),
            (
                MENTOR_EMAIL,
                self.mentor_rows[0]["name"],
                "mentor",
                None,
                self.mentor_rows[0]["id"],
                None,
            ),
            (
                MENTOR2_EMAIL,
                self.mentor_rows[1]["name"],
                "mentor",
                None,
                self.mentor_rows[1]["id"],
                None,
            ),
            (TRAINEE_EMAIL, first["name"], "trainee", None, None, first["id"]),
            (TRAINEE2_EMAIL, current["name"], "trainee", None, None, current["id"]),
        ]
        for email, name, role, district, mentor, trainee in rows:
            self.add(
                "users",
                {
                    "email": email,
                    "name": name,
                    "role": role,
                    "district": district,
                    "mentor": mentor,
                    "trainee": trainee,
                    "active": True,
                    "note": "演示账号",
                },
            )

    def run(self) -> dict[str, list[Row]]:
        self.choice_rows()
        self.curriculum()
        self.seeded(exclude={"curriculum_modules"})
        self.cohort_rows()
        self.nominations()
        self.invitations()
        self.objections()
        self.trainees()
        self.mentors()
        self.assignments()
        self.sessions()
        self.attendance()
        self.statuses()
        self.deliverables()
        self.research()
        self.presentations()
        self.pairings()
        self.plans()
        self.workshops()
        self.assessments()
        self.expenses()
        self.budgets()
        self.users()
        for rows in self.out.values():  # drop the generator's scratch fields
            for row in rows:
                for key in [k for k in row if k.startswith("_")]:
                    del row[key]
        return {key: rows for key, rows in self.out.items()}


def _stored_name(seed: str) -> str:
    """A stored upload name (``<32 hex>.txt``, as mingxiao.uploads names files) derived from
    ``seed``, so the demo's random sequence stays as it was."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()[:32] + ".txt"


def deliverable_text(title: str, chars: int) -> str:
    """The text of a demo deliverable: ``title``, then a body, ``chars`` 字 in all."""
    from mingxiao.wordcount import count_text

    need = max(chars - count_text(title).total, 0)
    passage = _DELIVERABLE_PASSAGE * (need // len(_DELIVERABLE_PASSAGE) + 1)
    body = passage[:need]
    lines = [body[i : i + _PARAGRAPH] for i in range(0, len(body), _PARAGRAPH)]
    return "\n".join([title, "", *lines]) + "\n"


def write_deliverable_files(db: Any, folder: str | Path) -> int:
    """Write the demo deliverables' files into the upload folder (``flask demo``): one .txt per
    deliverable row whose stored file is missing, with the row's 字数, and the metadata the
    download shows (its original name). Returns how many files were written. Not part of
    :func:`generate`: the workbook alone (tests build it often) needs no files."""
    from mingxiao import uploads

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    written = 0
    for rec in db.table("deliverables").all():
        name = rec.get("file_ref")
        if not isinstance(name, str) or not uploads.STORED_NAME_RE.match(name):
            continue
        path = target / name
        if not name.endswith(".txt") or path.exists():
            continue
        title = str(rec.get("title") or "")
        data = deliverable_text(title, int(rec.get("char_count") or 0)).encode("utf-8")
        tmp = target / f".demo-{name}.part"
        tmp.write_bytes(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        stored = uploads.StoredFile(
            name=name,
            original_name=uploads.clean_original_name(f"{title}.txt"),
            size=len(data),
            kind="txt",
            sha256=hashlib.sha256(data).hexdigest(),
        )
        uploads.write_metadata(stored, target, deliverable=str(rec.id))
        written += 1
    return written


def generate(
    schemas: SchemaSet, scale: float = 1.0, seed: int = 2026, year: int = 2026
) -> dict[str, list[dict[str, Any]]]:
    """Demo records per sheet key, keyed by column key (with ``id``; no engine timestamps).

    ``scale`` multiplies the row counts roughly linearly (1 → 3 cohorts of 50 trainees and
    about 400 nominations); the same ``seed`` always yields the same data.
    """
    return _Generator(schemas, scale, seed, year).run()

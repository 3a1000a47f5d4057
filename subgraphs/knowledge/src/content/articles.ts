import type { ArticleContent } from './types.js';

const REMINDER = '> 老克提醒：本文是健康科普，不能代替医生的面诊和处方。身体不适请及时就医。';

/**
 * Short education pieces by the LaoKe 老克 agent, in Markdown. Newest last;
 * the API lists them newest first.
 */
export const articles: ArticleContent[] = [
  {
    id: 'nine-constitutions',
    title: '九种体质，你属于哪一种？',
    titleEn: 'The nine constitutions: which one are you?',
    summary: '中医把人的体质分为九种。了解自己的体质，是因人而养的第一步。',
    tags: ['体质', '入门'],
    publishedOn: '2025-01-06',
    constitutions: ['BALANCED'],
    body: `## 体质是什么

体质是一个人在先天禀赋和后天生活共同作用下形成的、相对稳定的身体特点。它决定了你更容易出现哪些不适，也决定了哪种养生方式更适合你。

## 九种体质一览

| 体质 | 一句话特点 |
| --- | --- |
| 平和质 | 精力充沛、睡得好、吃得香 |
| 气虚质 | 容易累、气短、爱出汗 |
| 阳虚质 | 怕冷、手脚凉 |
| 阴虚质 | 口干、手脚心热 |
| 痰湿质 | 体形偏胖、身体沉重 |
| 湿热质 | 脸上爱出油、口苦 |
| 血瘀质 | 肤色暗、容易有瘀斑 |
| 气郁质 | 情绪低落、爱叹气 |
| 特禀质 | 容易过敏 |

## 几点说明

- 很多人是**兼夹体质**，例如气虚兼痰湿，这很常见。
- 体质不是一成不变的，作息、饮食和情绪都会让它慢慢改变。
- 想知道自己的体质，可以在索克生活里完成一次体质问诊。

${REMINDER}`,
  },
  {
    id: 'qi-deficiency-care',
    title: '总是觉得累？气虚质的日常调养',
    titleEn: 'Always tired? Daily care for a qi-deficient constitution',
    summary: '气虚的人做事容易累、稍动就出汗。养气的关键在于“省着用、慢慢补”。',
    tags: ['体质', '气虚', '饮食'],
    publishedOn: '2025-02-10',
    constitutions: ['QI_DEFICIENT'],
    body: `## 你可能是气虚

爬两层楼就喘，说话多了没力气，别人不出汗你先出汗，换季总是第一个感冒——这些都是气虚常见的信号。

## 怎么吃

- 主食里加一点**山药、小米**，煮粥最合适。
- 炖汤可放几片**黄芪**、几颗**大枣**，味道温和。
- 少吃冰镇饮料和生冷食物，它们会拖累脾胃。

## 怎么动

气虚的人最怕“透支”。选择**八段锦、太极拳、散步**这类柔和的运动，以身上微微发热为度，不要大汗淋漓。

## 一个小习惯

每天按揉**足三里**五分钟，长期坚持，对脾胃和精力都有帮助。

${REMINDER}`,
  },
  {
    id: 'yang-deficiency-winter',
    title: '手脚冰凉过冬难：阳虚质怎么养',
    titleEn: 'Cold hands and feet: caring for a yang-deficient constitution',
    summary: '阳虚的人像一座火力不足的炉子。养阳要“开源”也要“节流”。',
    tags: ['体质', '阳虚', '冬季'],
    publishedOn: '2025-03-03',
    constitutions: ['YANG_DEFICIENT'],
    body: `## 火力不足的身体

阳气好比身体里的炉火。炉火弱了，人就怕冷、手脚凉、容易拉肚子，精神也提不起来。

## 开源：补充温热

- 冬季可适量吃**羊肉、韭菜、核桃**，做菜时放些**生姜**。
- 晒背是简单的养阳方法：上午阳光好时，背对太阳晒二十分钟。
- 睡前用温水泡脚，水没过脚踝即可。

## 节流：别再耗阳

- 夏天空调不要开得太低，少喝冷饮。
- 腰腹和脚部是保暖重点，秋冬别穿露脚踝的裤子。

## 穴位保健

**关元、命门**两穴可以用热水袋温敷，或在专业人员指导下艾灸。

${REMINDER}`,
  },
  {
    id: 'yin-deficiency-dryness',
    title: '口干、失眠、手心热：阴虚质的滋润之道',
    titleEn: 'Dry mouth, poor sleep, warm palms: nourishing a yin-deficient constitution',
    summary: '阴虚的人身体像缺水的田地，养阴重在“润”和“静”。',
    tags: ['体质', '阴虚', '睡眠'],
    publishedOn: '2025-04-14',
    constitutions: ['YIN_DEFICIENT'],
    body: `## 缺水的田地

阴液好比田里的水。水少了，地就干、就热：口干咽燥、手脚心发热、晚上睡不踏实、大便偏干。

## 润：吃对食物

- **银耳百合羹**、**雪梨**、**黑芝麻**都是滋阴的好选择。
- 辣椒、烧烤、油炸食品会“火上浇油”，尽量少吃。

## 静：别熬夜

熬夜是最耗阴的习惯。尽量在十一点前入睡；睡前一小时放下手机，可以按揉**太溪、三阴交**。

## 运动提示

选择游泳、太极拳等温和运动，避免大汗。运动后及时补水。

${REMINDER}`,
  },
  {
    id: 'phlegm-damp-weight',
    title: '喝水都长胖？说说痰湿体质',
    titleEn: 'Gaining weight on water alone? The phlegm-damp constitution',
    summary: '痰湿体质与体重、血脂关系密切。祛湿先健脾，管住嘴、迈开腿。',
    tags: ['体质', '痰湿', '体重管理'],
    publishedOn: '2025-05-19',
    constitutions: ['PHLEGM_DAMP'],
    body: `## 湿从哪里来

脾负责把吃进去的食物和水变成身体能用的东西。脾累了，水湿就留在体内，日子久了变成“痰湿”：身体沉、肚子大、舌苔厚腻。

## 饮食三原则

1. **清淡**：少油、少糖、少甜饮料。
2. **七分饱**：晚餐尤其不要过饱。
3. **健脾利湿**：冬瓜、赤小豆、白萝卜可以常吃，薏米煮粥前先炒一炒更不伤胃。

## 一定要动

痰湿体质最需要长期坚持的有氧运动：快走、慢跑、游泳、骑车，每周至少五次，每次三十分钟以上。

## 穴位

**丰隆**是化痰要穴，**阴陵泉**善于利湿，按压时常有明显酸痛感。

${REMINDER}`,
  },
  {
    id: 'damp-heat-summer',
    title: '脸上爱出油、嘴里发苦：湿热体质的清爽饮食',
    titleEn: 'Oily skin and a bitter taste: eating light for a damp-heat constitution',
    summary: '湿热像闷热的桑拿天。清热利湿，先从餐桌开始。',
    tags: ['体质', '湿热', '夏季', '饮食'],
    publishedOn: '2025-06-23',
    constitutions: ['DAMP_HEAT'],
    body: `## 身体里的桑拿天

湿和热纠缠在一起，就像闷热潮湿的桑拿天：脸上油光、容易长痘、口苦口黏、大便黏马桶。

## 餐桌上的清热利湿

- 多吃**绿豆、苦瓜、冬瓜、黄瓜、芹菜**。
- 火锅、烧烤、奶茶和酒是湿热的“加油站”，能少则少。
- 可以用**荷叶**或**薏苡仁**煮水代茶。

## 生活起居

- 衣服选择透气的棉麻材质。
- 适合强度稍大的运动，出汗能帮助泄热，运动后及时洗澡换衣。

${REMINDER}`,
  },
  {
    id: 'blood-stasis-circulation',
    title: '让气血流动起来：血瘀体质的调养',
    titleEn: 'Keep the blood moving: care for a blood-stasis constitution',
    summary: '血瘀的人脸色偏暗、容易有瘀斑。活血的关键是“动”和“暖”。',
    tags: ['体质', '血瘀', '运动'],
    publishedOn: '2025-08-04',
    constitutions: ['BLOOD_STASIS'],
    body: `## 河道淤塞

气血运行好比河水流动。流得慢了，就会在某些地方“淤住”：脸色和唇色偏暗、身上容易青一块紫一块、女性月经有血块。

## 动起来

久坐是血瘀的大敌。每坐一小时起身活动五分钟；太极拳、舞蹈、健步走都很合适。

## 暖起来

寒冷会让血流更慢。冬季注意保暖，少吃冰冻食物。

## 吃什么

**山楂、黑木耳、洋葱**有助于血液运行；**玫瑰花**泡茶，既能活血又能舒缓情绪。

## 特别提醒

正在服用阿司匹林、华法林等抗凝或抗血小板药物的人，使用丹参、三七、红花等活血中药前一定要先问医生。

${REMINDER}`,
  },
  {
    id: 'qi-stagnation-mood',
    title: '爱叹气、心里堵：气郁体质与情绪调适',
    titleEn: 'Sighing and a heavy heart: the qi-stagnation constitution and mood',
    summary: '气郁的根源常在情绪。疏肝解郁，既要调身，也要调心。',
    tags: ['体质', '气郁', '情绪'],
    publishedOn: '2025-09-15',
    constitutions: ['QI_STAGNATION'],
    body: `## 堵住的气

中医认为肝主疏泄，负责让气机通畅。压力大、心情不好时，气就容易“堵”：胸口闷、爱叹气、两胁发胀、睡不好。

## 调心

- 找信任的人说说话，把情绪讲出来。
- 培养一项能让自己专注的爱好。
- 情绪低落持续两周以上，请寻求专业心理帮助。

## 调身

- 户外运动和集体活动最适合气郁体质。
- **玫瑰花茶、茉莉花茶**香气舒畅，可以常喝。
- 生气或烦闷时按揉**太冲、膻中**，配合深呼吸。

${REMINDER}`,
  },
  {
    id: 'allergy-season',
    title: '一换季就打喷嚏：特禀体质的过敏季节攻略',
    titleEn: 'Sneezing every season change: an allergy-season guide for the inherited special constitution',
    summary: '特禀体质的人对环境格外敏感。避开过敏原，同时把“卫气”养足。',
    tags: ['体质', '特禀', '过敏', '春季'],
    publishedOn: '2025-10-20',
    constitutions: ['INHERITED_SPECIAL'],
    body: `## 敏感的身体

特禀体质的人天生对某些东西格外敏感：花粉、尘螨、海鲜、某些药物。一到换季就鼻子痒、打喷嚏、起风团。

## 第一步：避开

- 弄清自己的过敏原，必要时到医院做过敏原检测。
- 花粉季节外出戴口罩，回家后洗脸、清洗鼻腔。
- 床品每周用热水清洗，减少尘螨。

## 第二步：固表

中医认为过敏和“卫气”不足有关。**黄芪、白术、防风**三味药合用就是经典的玉屏风散，适合在医生指导下于换季前调理。

## 穴位

每天按揉**迎香**和**足三里**，帮助鼻腔通畅、增强体质。

${REMINDER}`,
  },
  {
    id: 'zusanli-self-massage',
    title: '足三里：人人都能用的保健穴',
    titleEn: 'Leg Three Miles (ST36): a health point for everyone',
    summary: '足三里是最常用的保健穴之一。找准位置、用对方法，每天五分钟。',
    tags: ['穴位', '按摩', '脾胃'],
    publishedOn: '2025-11-10',
    constitutions: ['QI_DEFICIENT', 'BALANCED'],
    body: `## 怎么找

坐下屈膝，在膝盖外侧下方找到凹陷（外膝眼），从这里向下量四横指，再向胫骨外侧旁开一横指，按下去酸胀最明显的地方就是**足三里**。

## 怎么按

- 用拇指指腹按揉，每侧三到五分钟，以酸胀为度。
- 也可以握空拳轻轻敲打。
- 怕冷、体虚的人可以用艾条温和灸，距离皮肤两三厘米，以温热不烫为度。

## 适合谁

胃口不好、容易疲劳、体质虚弱的人尤其适合；平和体质的人也可以作为日常保健。

## 注意

饭后半小时内不宜用力按；皮肤有破损时避开。

${REMINDER}`,
  },
  {
    id: 'four-examinations',
    title: '望闻问切：中医如何判断体质',
    titleEn: 'Looking, listening, asking, feeling: how TCM reads a constitution',
    summary: '四诊合参是中医诊察的基本方法。索克生活的体质评估也由此而来。',
    tags: ['诊法', '四诊', '入门'],
    publishedOn: '2025-12-01',
    constitutions: [],
    body: `## 四种方法

1. **望诊**：看神色、形态，特别是舌象——舌的颜色、舌苔的厚薄和颜色、有没有齿痕和裂纹。
2. **闻诊**：听声音和呼吸，闻气味。声音低弱常见于气虚。
3. **问诊**：询问寒热、汗出、饮食、睡眠、二便和情绪。体质问卷就属于问诊。
4. **切诊**：摸脉。脉的快慢、节律和力量都能提供线索。

## 为什么要“合参”

任何一种方法都有局限。舌淡可能是气虚，也可能是血虚；把四种信息放在一起，判断才更可靠。

## 在索克生活里

你可以依次完成体质问卷、舌象拍照、语音记录和脉搏测量，系统会综合这些信息给出体质报告和调养建议。

${REMINDER}`,
  },
  {
    id: 'herb-safety',
    title: '药食同源不等于随便吃：中药安全常识',
    titleEn: 'Food-grade herbs still need care: herb safety basics',
    summary: '中药也是药。了解“十八反”、特殊人群和药物相互作用，用得才安心。',
    tags: ['中药', '安全'],
    publishedOn: '2026-01-12',
    constitutions: [],
    body: `## 是药三分毒

山药、大枣、枸杞这样的药食同源之品相对平和，但黄芪、人参、丹参等仍然是药，不宜长期大量自行服用。

## 几条常识

- **配伍禁忌**：例如甘草不宜与甘遂、海藻等同用，人参、丹参、党参等不宜与藜芦同用。
- **特殊人群**：孕妇、哺乳期女性、儿童和老人用药要格外谨慎，红花、三七等活血药孕妇慎用或忌用。
- **相互作用**：正在服用西药（尤其是抗凝药、降糖药、降压药）的人，加用中药前请告诉医生。
- **炮制很重要**：半夏等药材生品有毒，必须使用炮制品。

## 老克的建议

体质调养以饮食、运动和作息为主，中药调理请在中医师指导下进行。

${REMINDER}`,
  },
];

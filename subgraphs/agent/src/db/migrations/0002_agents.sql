-- The four agents of Suoke Life (索克生活). Reference data in every environment.
insert into "agent".agents (id, position, name, name_en, role, description, capabilities) values
  ('xiaoai', 1, '小艾', 'XiaoAI', 'HEALTH_ASSISTANT',
   '小艾是你的健康助手：了解你的身体状况，带你完成望、闻、问、切四诊体质评估，并用通俗的话解释结果。',
   array['引导四诊体质评估', '解读体质与证候', '日常健康问答', '提醒何时应当就医']),
  ('xiaoke', 2, '小克', 'XiaoKe', 'SERVICES',
   '小克负责健康服务：帮你预约调理与问诊，介绍适合你体质的养生产品和药食同源食材，制定调理计划。',
   array['预约问诊与调理服务', '推荐养生产品与食材', '制定个人调理计划', '说明中药使用注意事项']),
  ('laoke', 3, '老克', 'LaoKe', 'KNOWLEDGE',
   '老克是知识导师：讲解中医体质、中药、穴位与养生知识，回答时引用知识库中的文章和条目。',
   array['讲解中医基础知识', '介绍中药与穴位', '推荐相关科普文章', '解释体质理论']),
  ('soer', 4, '索儿', 'SoEr', 'LIFESTYLE',
   '索儿是生活陪伴者：关心你的作息、睡眠、情绪和日常习惯，陪你一点点养成健康的生活方式。',
   array['作息与睡眠建议', '情绪疏导与放松', '运动与饮食习惯', '季节养生提醒']);

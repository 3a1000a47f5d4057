import type { KnowledgeKindName } from '../search/documents.js';

/**
 * Other names people ask by, per item (`KIND:key`), for search only: common
 * English names, pinyin of everyday words, colloquial Chinese. Names every
 * item has anyway (Chinese, toned pinyin with and without spaces, the English
 * name without its "root"/"constitution" suffix) are derived in
 * search/documents.ts, not listed here. Articles have no pinyin of their own:
 * their aliases are the short phrases, in all three languages, a question
 * about them uses. validate.ts checks that every key exists.
 */
export const SEARCH_ALIASES: Record<`${KnowledgeKindName}:${string}`, string[]> = {
  'CONSTITUTION:BALANCED': ['healthy constitution', 'pinghe'],
  'CONSTITUTION:QI_DEFICIENT': ['qi deficiency', 'qixu'],
  'CONSTITUTION:YANG_DEFICIENT': ['yang deficiency', 'yangxu'],
  'CONSTITUTION:YIN_DEFICIENT': ['yin deficiency', 'yinxu'],
  'CONSTITUTION:PHLEGM_DAMP': ['phlegm dampness', 'tanshi'],
  'CONSTITUTION:DAMP_HEAT': ['dampness heat', 'shire'],
  'CONSTITUTION:BLOOD_STASIS': ['blood stasis constitution', 'xueyu'],
  'CONSTITUTION:QI_STAGNATION': ['qi stagnation constitution', 'qiyu'],
  'CONSTITUTION:INHERITED_SPECIAL': ['allergic constitution', 'allergy constitution', '过敏', 'tebing'],

  'HERB:gancao': ['licorice', 'licorice root'],
  'HERB:shengjiang': ['ginger', '姜'],
  'HERB:gouqizi': ['wolfberry', 'gouqi'],
  'HERB:dazao': ['red dates', 'red date', 'hongzao'],
  'HERB:shanyao': ['huaishan'],
  'HERB:yiyiren': ['job’s tears', 'yimi'],
  'HERB:chenpi': ['tangerine peel', 'orange peel'],
  'HERB:rougui': ['cinnamon'],
  'HERB:bohe': ['mint', 'peppermint'],
  'HERB:juhua': ['chrysanthemum tea'],
  'HERB:longyanrou': ['longan', 'guiyuan'],
  'HERB:sanqi': ['tianqi'],
  'HERB:suanzaoren': ['ziziphus seed'],
  'HERB:renshen': ['ginseng'],

  'ACUPOINT:ST36': ['zusanli'],
  'ACUPOINT:LI4': ['hegu'],
  'ACUPOINT:SP6': ['sanyinjiao'],
  'ACUPOINT:PC6': ['neiguan'],
  'ACUPOINT:KI1': ['yongquan'],
  'ACUPOINT:GV20': ['baihui'],
  'ACUPOINT:LR3': ['taichong'],
  'ACUPOINT:HT7': ['shenmen'],
  'ACUPOINT:CV4': ['guanyuan'],
  'ACUPOINT:CV6': ['qihai'],
  'ACUPOINT:GB20': ['fengchi'],

  'SYNDROME:WIND_COLD_EXTERIOR': ['wind cold', 'common cold from wind cold', '风寒感冒', 'fenghan ganmao'],
  'SYNDROME:FOOD_STAGNATION': ['indigestion', 'food stagnation', '积食', '消化不良', 'jishi'],
  'SYNDROME:HEART_KIDNEY_DISHARMONY': ['heart kidney disharmony'],
  'SYNDROME:LIVER_QI_STAGNATION': ['ganyu qizhi', '肝郁', 'ganyu'],
  'SYNDROME:LIVER_FIRE_BLAZING': ['liver fire', '肝火旺', 'ganhuo'],

  'ARTICLE:nine-constitutions': ['nine constitutions', '九种体质', 'jiu zhong tizhi', 'jiuzhong tizhi', 'which constitution am i', 'types of constitution'],
  'ARTICLE:qi-deficiency-care': ['气虚调养', 'qixu tiaoyang', 'always tired', 'daily care for qi deficiency'],
  'ARTICLE:yang-deficiency-winter': ['阳虚过冬', '冬季养阳', '冬天怎么养', 'in winter', 'winter care', 'dongtian', 'dongji'],
  'ARTICLE:yin-deficiency-dryness': ['滋阴', '阴虚失眠', 'ziyin', 'nourishing yin'],
  'ARTICLE:phlegm-damp-weight': ['喝水都胖', '减肥', '体重管理', 'jianfei', 'lose weight', 'losing weight', 'weight loss'],
  'ARTICLE:damp-heat-summer': ['清爽饮食', '脸上出油', 'oily skin', 'chuyou', 'in summer', 'xiatian'],
  'ARTICLE:blood-stasis-circulation': ['活血', '气血流动', 'huoxue', 'blood circulation', 'circulation'],
  'ARTICLE:qi-stagnation-mood': ['情绪调适', '爱叹气', 'sighing', 'tanqi', 'low mood'],
  'ARTICLE:allergy-season': ['换季过敏', '打喷嚏', 'sneezing', 'hay fever', 'pollen allergy', 'dapenti', 'huanji guomin'],
  'ARTICLE:zusanli-self-massage': ['足三里按摩', '保健穴', 'zusanli anmo', 'massaging zusanli', 'self massage'],
  'ARTICLE:four-examinations': ['四诊', '望闻问切', 'sizhen', 'wang wen wen qie', 'four examinations', 'tongue diagnosis', 'pulse diagnosis'],
  'ARTICLE:herb-safety': ['中药安全', '药食同源', 'herb safety', 'herbal safety', 'yaoshi tongyuan', 'zhongyao anquan', 'side effects of herbs'],
};

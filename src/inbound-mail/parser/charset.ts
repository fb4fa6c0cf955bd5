import { isUtf8 as nodeIsUtf8 } from 'node:buffer';
import * as chardet from 'chardet';
import * as iconv from 'iconv-lite';
import { MAX_CHARSET_HINTS } from './limits';

/**
 * Charset names as mail declares them, mapped to the iconv-lite name that decodes what the sender
 * meant: Latin-1 and ASCII labels are read as windows-1252 (as browsers do: senders put “smart
 * quotes” in "iso-8859-1" mail), GB2312 as its superset GB18030, KS C 5601 as CP949.
 */
const ALIASES: Record<string, string> = {
  'us-ascii': 'windows-1252',
  ascii: 'windows-1252',
  'iso-8859-1': 'windows-1252',
  latin1: 'windows-1252',
  'iso8859-1': 'windows-1252',
  gb2312: 'gb18030',
  gbk: 'gb18030',
  'x-gbk': 'gb18030',
  cp936: 'gb18030',
  'euc-cn': 'gb18030',
  'ks_c_5601-1987': 'cp949',
  ks_c_5601: 'cp949',
  'euc-kr': 'cp949',
  'x-sjis': 'shift_jis',
  sjis: 'shift_jis',
  'shift-jis': 'shift_jis',
  'windows-31j': 'shift_jis',
  'x-mac-roman': 'macintosh',
  'unicode-1-1-utf-7': 'utf-7',
  'x-unicode20utf8': 'utf-8',
  utf8: 'utf-8',
};

/** Bytes looked at to detect a charset: plenty for text, bounded for hostile input. */
const DETECTION_LIMIT = 16 * 1024;

/** Charsets tried when a mail declares nothing usable, besides what chardet proposes. */
const FALLBACK_CANDIDATES = [
  'windows-1252',
  'gb18030',
  'shift_jis',
  'koi8-r',
  'windows-1251',
  'iso-8859-2',
  'big5',
  'cp949',
  'iso-8859-7',
];

/** The most frequent simplified Chinese characters: real GB text is full of them, misread bytes are not. */
const COMMON_HANZI = new Set(
  '的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭额含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努休虎扬途侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵硬麦蒋操耶阻订彩抽赞魔纷沿喊违妹浪汇币丰蓝殊献桌啦瓦莱援译夺汽烧距裁偏符勇触课敬哭懂墙袭召罚侠厅拜巧侧韩冒债曼融惯享戴童犹乘挂奖绍厚纵障讯涉彻刊丈爆乌役描洗玛患妙镜唱烦签仙彼弗症仿倾牌陷鸟轰咱菜闭奋庆撤泪茶疾缘播朗杜奶季丹狗尾仪偷奔珠虫驻孔宜艾桥淡翼恨繁寒伴叹旦愈潮粮缩罢聚径恰挑袋灰捕徐珍幕映裂泰隔启尖忠累炎暂估泛荒偿横拒瑞忆孤鼻闹羊呆厉衡胞零穷舍码赫婆魂灾洪腿胆津俗辩胸晓劲贫仁偶辑邦恢赖圈摸仰润堆碰艇稍迟辆废净凶署壁御奉旋冬矿抬蛋晨伏吹鸡倍糊秦盾杯租骑乏隆诊奴摄丧污渡旗甘耐凭扎抢绪粗肩梁幻菲皆碎宙叔岩荡综爬荷悉蒂返井壮薄悄扫敏碍殖详迪矛霍允幅撒剩凯颗骂赏液番箱贴漫酸郎腰舒眉忧浮辛恋餐吓挺励辞艘键伍峰尺昨黎辈贯侦滑券崇扰宪绕趋慈乔阅汗枝拖墨胁插箭腊粉泥氏彭拔骗凤慧媒佩愤扑龄驱惜豪掩兼跃尸肃帕驶堡届欣惠册储飘桑闲惨洁踪勃宾频仇磨递邪撞拟滚奏巡颜剂绩贡疯坡瞧截燃焦殿伪柳锁逼颇昏劝呈搜勤戒驾漂饮曹朵仔柔俩孟腐幼践籍牧凉牲佳娜浓芳稿竹腹跌逻垂遵脉貌柏狱猜怜惑陶兽帐饰贷昌叙躺钢沟寄扶铺邓寿惧询汤盗肥尝匆辉奈扣廷澳嘛董迁凝慰厌脏腾幽怨鞋丢埋泉涌辖躲晋紫艰魏吾慌祝邮吐狠鉴曰械咬邻赤挤弯椅陪割揭韦悟聪雾锋梯猫祥阔誉筹丛牵鸣沈阁穆屈旨袖猎臂蛇贺柱抛鼠瑟戈牢逊迈欺吨琴衰瓶恼燕仲诱狼池疼卢仗冠粒遥吕玄尘冯抚浅敦纠钻晶岂峡苍喷耗凌敲菌赔涂粹扁亏寂煤熊恭湿循暖糖赋抑秩帽哀宿踏烂袁侯抖夹昆肝擦猪炼恒慎搬纽纹玻渔磁铜齿跨押怖漠疲叛遣兹祭醉拳弥斜档稀捷肤疫肿豆削岗晃吞宏癌肚隶履涨耀扭坛拨沃绘伐堪仆郭牺歼墓雇廉契拼惩捉覆刷劫嫌瓜歇雕闷乳串娃缴唤赢莲霸桃妥瘦搭赴岳嘉舱俊址庞耕锐缝悔邀玲惟斥宅添挖呵讼氧浩羽斤酷掠妖祸侍乙妨贪挣汪尿莉悬唇翰仓轨枚盐览傅帅庙芬屏寺胖璃愚滴疏萧姿颤丑劣柯寸扔盯辱匹俱辨饿蜂哦腔郁溃谨糟葛苗肠忌溜鸿爵鹏鹰笼丘桂滋聊挡纲肌茨壳痕碗穴膀卓贤卧膜毅锦欠哩函茫昂薛皱夸豫胃舌剥傲拾窝睁携陵哼棉晴铃填饲渴吻扮逆脆喘罩卜炉柴愉绳胎蓄眠竭喂傻慕浑奸扇柜悦拦诞饱乾泡贼亭夕爹酬儒姻卵氛泄杆挨僧蜜吟猩遂狭肖甜霞驳裕顽於摘矮秒卿畜咽披辅勾盆疆赌塑畏吵囊嗯泊肺骤缠冈羞瞪吊贾漏斑涛悠鹿俘锡卑葬铭滩嫁催璇翅盒蛮矣潘歧赐鲍锅廊拆灌勉盲宰佐啥胀扯禧辽抹筒棋裤唉朴咐孕誓喉妄拘链驰栏逝窃艳臭纤玑棵趁匠盈翁愁瞬婴孝颈倘浙谅蔽畅赠妮莎尉冻跪闯葡後厨鸭颠遮谊圳吁仑辟瘤嫂陀框谭亨钦庸歉芝吼甫衫摊宴嘱衷娇陕矩浦讶耸裸碧摧薪淋耻胶屠鹅饥盼脖虹翠崩账萍逢赚撑翔倡绵猴枯巫昭怔渊凑溪蠢禅阐旺寓藤匪伞碑挪琼脂谎慨菩萄狮掘抄岭晕逮砍掏狄晰罕挽脾舟痴蔡剪脊弓懒叉拐喃僚捐姊骚拓歪粘柄坑陌窄湘兆崖骄刹鞭芒筋聘钩棍嚷腺弦焰耍俯厘愣厦恳饶钉寡憾摔叠惹喻谱愧煌徽溶坠煞巾滥洒堵瓷咒姨棒郡浴媚稣淮哎屁漆淫巢吩撰啸滞玫硕钓蝶膝姚茂躯吏猿寨恕渠戚辰舶颁惶狐讽笨袍嘲啡泼衔倦涵雀旬僵撕肢垄夷逸茅侨舆窑涅蒲谦杭噢弊勋刮郊凄捧浸砖鼎篮蒸饼亩肾陡爪兔殷贞荐哑炭坟眨搏咳拢舅昧擅爽咖搁禄雌哨巩绢螺裹昔轩谬谍龟媳姜瞎冤鸦蓬巷琳栽沾诈斋瞒彪厄咨纺罐桶壤糕颂膨谐垒咕隙辣绑宠嘿兑霉挫稽辐乞纱裙嘻哇绣杖塘衍轴攀膊譬斌祈踢肆坎轿棚泣屡躁邱凰溢椎砸趟帘帆栖窜丸斩堤塌贩厢掀喀乖谜捏阎滨虏匙芦苹卸沼钥株祷剖熙哗劈怯棠胳桩瑰娱娶沫嗓蹲焚淘嫩韵衬匈钧竖峻豹捞菊鄙魄兜哄颖镑屑蚁壶怡渗秃迦旱哟咸焉谴宛稻铸锻伽詹毙恍贬烛骇芯汁桓坊驴朽靖佣汝碌迄冀荆崔雁绅珊榜诵傍彦醇笛禽勿娟瞄幢寇睹贿踩霆呜拱妃蔑谕缚诡篷淹腕煮倩卒勘馨逗甸贱炒灿敞蜡囚栗辜垫妒魁谣寞蜀甩涯枕丐泳奎泌逾叮黛燥掷藉枢憎鲸弘倚侮藩拂鹤蚀浆芙垃烤晒霜剿蕴圾绸屿氢驼妆捆铅逛淑榴丙痒钞蹄犬躬昼藻蛛褐颊奠募耽蹈陋侣魅岚侄虐堕陛莹荫狡阀绞膏垮茎缅喇绒搅凳梭丫姬诏钮棺耿缔懈嫉灶匀嗣鸽澡凿纬沸畴刃遏烁嗅叭熬瞥骸奢拙栋毯桐砂莽泻坪梳杉晤稚蔬蝇捣顷麽尴镖诧尬硫嚼羡沦沪旷彬芽狸冥碳咧惕暑咯萝汹腥窥俺潭崎麟捡拯厥澄萎哉涡滔暇溯鳞酿茵愕瞅暮衙诫斧兮焕棕佑嘶妓喧蓉删樱伺嗡娥梢坝蚕敷澜杏绥冶庇挠搂倏聂婉噪稼鳍菱盏匿吱寝揽髓秉哺矢啪帜邵嗽挟缸揉腻驯缆晌瘫贮觅朦僻隋蔓咋嵌虔畔琐碟涩胧嘟蹦冢浏裔襟叨诀旭虾簿啤擒枣嘎苑牟呕骆凸熄兀喔裳凹赎屯膛浇灼裘砰棘橡碱聋姥瑜毋娅沮萌俏黯撇粟粪尹苟癫蚂禹廖俭帖煎缕窦簇棱叩呐瑶墅莺烫蛙歹伶葱哮眩坤廓讳啼乍瓣矫跋枉梗厕琢讥釉窟敛轼庐胚呻绰扼懿炯竿慷虞锤栓桨蚊磅孽惭戳禀鄂馈垣溅咚钙礁彰豁眯磷雯墟迂瞻颅琉悼蝴拣渺眷悯汰慑婶斐嘀鞍蹭孚驿浊闺妾蕉撼蝉砚碾琅濒咏霖栈疤蟹屉茸匝橘扳雹芭炖叽谒拧祀粤辙梨瘾蚤荧卉莓掂抉蜗蜘擂您邮件附件发票请问谢谢系统登录密码账号客户服务订单退款联系帐户錯誤問題謝謝請發票帳號郵件說',
);

/** The ten most frequent Russian letters, both cases. */
const COMMON_CYRILLIC = /[оеаинтсрвлОЕАИНТСРВЛ]/g;

/** Resolves a declared charset label to an iconv-lite encoding name, or null when iconv-lite has none. */
export function resolveCharset(label: string | null | undefined): string | null {
  if (!label) return null;
  let name = label
    .trim()
    .toLowerCase()
    .replace(/^["']|["']$/g, '');
  name = name.replace(/\*.*$/, ''); // RFC 2231 language suffix: utf-8*en
  name = name.replace(/:\d{4}$/, ''); // a year, as iconv-lite reads it: ISO_8859-1:1987
  name = ALIASES[name] ?? name;
  if (/^(cs)?unicode11utf7$|^utf7$/.test(name.replace(/[^a-z0-9]/g, ''))) name = 'utf-7';
  return iconv.encodingExists(name) ? name : null;
}

/** Decodes bytes with a charset resolved by `resolveCharset` (windows-1252 when it resolves to nothing). */
export function decodeBytes(bytes: Buffer, charset: string | null): string {
  return iconv.decode(bytes, resolveCharset(charset) ?? 'windows-1252');
}

/** True when every byte is below 0x80. */
export function isAscii(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) return false;
  return true;
}

/**
 * How much a decoded string looks like what a person wrote, from about -300 (garbage) to 100 (a
 * clean run of one script with its common letters). Only the non-ASCII characters are judged.
 */
export function textPlausibility(text: string): number {
  let nonAscii = 0;
  let bad = 0;
  let latinInWord = 0;
  let latin = 0;
  let cyrillic = 0;
  let cyrillicLowerInner = 0;
  let cyrillicInner = 0;
  let hanzi = 0;
  let commonHanzi = 0;
  let kana = 0;
  let halfKana = 0;
  let hangul = 0;
  let greek = 0;
  let punct = 0;
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    const code = c.codePointAt(0) ?? 0;
    if (code < 0x80) continue;
    nonAscii++;
    const nonLatinScript = code >= 0x370 && code <= 0x4ff;
    if (code === 0xfffd || (code >= 0x80 && code < 0xa0) || (code >= 0xe000 && code <= 0xf8ff)) bad++;
    else if (nonLatinScript && (/[A-Za-z]/.test(chars[i - 1] ?? '') || /[A-Za-z]/.test(chars[i + 1] ?? ''))) bad += 0.5;
    else if (code >= 0xc0 && code <= 0x24f && code !== 0xd7 && code !== 0xf7) {
      latin++;
      if (/[A-Za-z]/.test(chars[i - 1] ?? '') || /[A-Za-z]/.test(chars[i + 1] ?? '')) latinInWord++;
    } else if (code >= 0x400 && code <= 0x4ff) {
      cyrillic++;
      if (/[\u0400-\u04ff]/.test(chars[i - 1] ?? '')) {
        cyrillicInner++;
        if (c !== c.toUpperCase()) cyrillicLowerInner++;
      }
    } else if (code >= 0x370 && code <= 0x3ff) greek++;
    else if (code >= 0x4e00 && code <= 0x9fff) {
      hanzi++;
      if (COMMON_HANZI.has(c)) commonHanzi++;
    } else if (code >= 0x3040 && code <= 0x30ff) kana++;
    else if (code >= 0xff61 && code <= 0xff9f) halfKana++;
    else if (code >= 0xac00 && code <= 0xd7a3) hangul++;
    else if (
      (code >= 0xa0 && code <= 0xbf) ||
      (code >= 0x2000 && code <= 0x206f) ||
      (code >= 0x3000 && code <= 0x303f) ||
      (code >= 0xff00 && code <= 0xff60) ||
      code === 0xd7 ||
      code === 0xf7 ||
      code === 0x20ac
    )
      punct++;
    else bad += 0.5;
  }
  if (nonAscii === 0) return 100;
  const cyrillicCommon = (text.match(COMMON_CYRILLIC) ?? []).length;
  const quality =
    latinInWord * 1 +
    latin * 0.2 +
    (cyrillic > 0
      ? cyrillic *
        (0.6 * Math.min(1, cyrillicCommon / cyrillic / 0.45) +
          0.4 * (cyrillicInner ? cyrillicLowerInner / cyrillicInner : 1))
      : 0) +
    greek * 0.9 +
    commonHanzi * 1 +
    (hanzi - commonHanzi) * 0.25 +
    (kana > 0 ? kana + hanzi * 0.6 : 0) +
    hangul * 0.85 +
    halfKana * 0.05 +
    punct * 0.5;
  return (100 * (Math.min(quality, nonAscii) - 3 * bad)) / nonAscii;
}

/**
 * Picks the charset of bytes that declare none. `hints` are charsets declared elsewhere in the same
 * mail (body parts, encoded words): they win when they decode cleanly. Otherwise chardet's
 * proposals and common mail charsets are scored by how plausible their decoding reads; short
 * strings (a subject, a name) are where chardet alone guesses wrong. At most MAX_CHARSET_HINTS
 * hints (and the word's own label) are scored.
 */
export function detectCharset(input: Buffer, hints: readonly string[] = []): string {
  const bytes = input.length > DETECTION_LIMIT ? input.subarray(0, DETECTION_LIMIT) : input;
  const scored = new Map<string, number>();
  const consider = (label: string, bonus: number): void => {
    const name = resolveCharset(label);
    if (!name || name === 'utf-7' || name === 'utf-8' || /^utf-?16|^utf-?32/.test(name)) return;
    const score = textPlausibility(iconv.decode(bytes, name)) + bonus;
    if (score > (scored.get(name) ?? -Infinity)) scored.set(name, score);
  };
  for (const hint of hints.slice(0, MAX_CHARSET_HINTS + 1)) consider(hint, 25);
  for (const match of chardet.analyse(bytes).slice(0, 4)) consider(match.name, match.confidence / 5);
  for (const name of FALLBACK_CANDIDATES) consider(name, 0);
  let best = 'windows-1252';
  let bestScore = -Infinity;
  for (const [name, score] of scored) {
    if (score > bestScore) {
      best = name;
      bestScore = score;
    }
  }
  return best;
}

/** Decodes bytes that are UTF-8 when valid, otherwise in the detected charset. */
export function decodeUnknown(bytes: Buffer, hints: readonly string[] = []): string {
  if (isAscii(bytes)) return bytes.toString('latin1');
  if (isUtf8(bytes)) return bytes.toString('utf8');
  return iconv.decode(bytes, detectCharset(bytes, hints));
}

/** True for valid UTF-8 (Node's native check). */
export function isUtf8(bytes: Buffer): boolean {
  return nodeIsUtf8(bytes);
}

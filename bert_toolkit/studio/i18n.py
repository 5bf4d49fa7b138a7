"""The studio in Chinese: the server's half of the page's language switch.

The page (static/i18n.js) translates its own words; what the server sends
in words is translated here:

  SETTINGS_ZH  setting name -> (Chinese label, Chinese help) of each field
               of the new-run form (commands.describe() sends them beside
               the English help, as label_zh and help_zh)
  TITLES_ZH    English -> Chinese of each kind's title and its try box's
               inputs (the options' title_zh, a run's kind_zh: the title
               before its parenthesis, a run's try_inputs_zh)
  MESSAGES_ZH  English template -> Chinese template of every message the
               studio itself writes: its refusals, {"error": "..."} replies

A message is a `Text`: an English template and its arguments, which
formats as the English text (so str() of a studio exception is the
English line, as it always was) and keeps both, so that `translate` can
give it in Chinese. The studio's exceptions (`Translated`) take
(template, *args) and carry their Text. The page sends its language in
the header X-Studio-Lang with every request; a reply's error is Chinese
when that header says zh and the template is in MESSAGES_ZH, else English.
The arguments stay as they are (names, paths, values), but for those that
are Text themselves (a status, "a list"): they are translated too. A line
that is not the studio's own (a script's `error:` line, serve.py's reply,
a log) is an argument, and stays English.

A Chinese template has the same %-conversions in the same order as its
English one (tests/test_studio.py checks that, and that every template the
studio raises, every field of every kind and every kind's title has its
Chinese). Terms: run 运行, dev 验证集, checkpoint 检查点, export 导出,
data folder 数据目录, setting 设置, field 字段.

No TensorFlow here, nothing but the standard library.
"""

import types

LANGUAGE_HEADER = "X-Studio-Lang"


def chinese(language):
  """Whether a language tag (the X-Studio-Lang header) asks for Chinese."""
  return isinstance(language, str) and language.strip().lower().startswith(
      "zh")


class Text(str):
  """English text made from a %-template and its arguments; keeps both."""

  def __new__(cls, template, *args):
    text = str.__new__(cls, template % args if args else template)
    text.template = template
    text.arguments = args
    return text


class Translated(object):
  """Mixin of the studio's exceptions: Error(template, *args). str() of
  one is the English text; `.text` is its Text, for `translate`."""

  def __init__(self, template, *args):
    self.text = Text(template, *args)
    super(Translated, self).__init__(str(self.text))


def _text_of(what):
  """The Text that `what` (a Text, an exception) carries, or None."""
  if isinstance(what, Text):
    return what
  if isinstance(getattr(what, "text", None), Text):
    return what.text
  if isinstance(what, BaseException) and what.args and isinstance(
      what.args[0], Text):
    return what.args[0]
  return None


def in_chinese(text):
  """A Text in Chinese, where its template has a translation (its Text
  arguments as well); else its English."""
  template = MESSAGES_ZH.get(text.template)
  if template is None:
    return str(text)
  if not text.arguments:
    return template
  args = tuple(in_chinese(_text_of(a)) if _text_of(a) is not None else a
               for a in text.arguments)
  try:
    return template % args
  except (TypeError, ValueError):       # a template the test would refuse
    return str(text)


def translate(what, language):
  """The message `what` (a Text, a studio exception, or any other text or
  exception: as str() gives it) in the page's `language`."""
  text = _text_of(what)
  if text is None or not chinese(language):
    return str(what)
  return in_chinese(text)


def short_title_zh(title):
  """A kind's short Chinese name (the runs list's Kind column): the
  Chinese of its title before a parenthesis; None without one."""
  title_zh = TITLES_ZH.get(title)
  return title_zh.split("（")[0].strip() if title_zh else None


def setting_zh(name):
  """(label, help) in Chinese of a form field, or (None, None)."""
  return SETTINGS_ZH.get(name, (None, None))


# The new-run form's fields: setting name -> (label, help). One help a
# setting; where kinds' English helps differ a little, it fits them all.
SETTINGS_ZH = types.MappingProxyType({
    # the data and what is read from it
    "task": ("任务",
             "数据格式（默认：数据目录名是已知数据集时用该名，否则根据目录中的"
             "文件推测）。"),
    "text_a_column": ("text_a 列",
                      "通用任务：text_a 所在的列（列名，或无表头文件中从 0 "
                      "开始的列号）。"),
    "text_b_column": ("text_b 列", "通用任务：text_b 所在的列。"),
    "label_column": ("标签列", "通用任务：标签所在的列。"),
    "truncation": ("截断方式",
                   "单条文本超过 max_seq_length 时保留哪些 WordPiece：head"
                   "（保留开头，与 Google 相同；默认）、tail（保留结尾）或 "
                   "head_tail（保留开头 128/510 和结尾 382/510）。随运行保存。"),
    "long_text": ("长文本处理",
                  "truncate（默认：按 --truncation 截断）或 windows：超过 "
                  "max_seq_length 的文本切成相互重叠的窗口，各窗口的 logits "
                  "汇总为一个结果，训练、评估、预测和服务时都如此。随运行保存。"),
    "window_stride": ("窗口步长",
                      "长文本切成窗口时（分类需 --long_text=windows），相邻窗口"
                      "起点之间的 WordPiece 数（默认：半个窗口）。"),
    "window_pooling": ("窗口汇总方式",
                       "--long_text=windows 时，一条文本的 logits 如何由各窗口"
                       "的 logits 得到（默认 mean 取平均；max 按标签取最大）。"),
    "multi_label": ("多标签",
                    "每个样本可有多个标签（--task=tsv/csv/jsonl）：sigmoid "
                    "输出，二元交叉熵损失。随运行保存。"),
    "label_separator": ("标签分隔符",
                        "标签列中多个标签之间的分隔符（默认 ','；JSON lines "
                        "中也可以是列表）。"),
    "google_output_format": ("Google 输出格式",
                             "按 google-research/bert 的格式写 "
                             "test_results.tsv：无表头，每个样本一行，各标签"
                             "概率以制表符分隔。"),
    "scheme": ("标注体系", "模型训练所用的标注体系（数据会随之转换）。"),
    "label_x": ("X 标签",
                "把词的非首个 WordPiece 作为额外的 'X' 标签训练"
                "（kyzhouhzau/BERT-NER 的做法），而不是忽略它们。"),
    "word_units": ("以词为单位",
                   "bio 任务：以空格分隔的词为单位（英文）；默认以字为单位"
                   "（中文）。"),
    # the model and its inputs
    "model_type": ("模型类型",
                   "模型系列，取 modeling.MODEL_TYPES 之一（bert、albert "
                   "等）；不填时自动推断。"),
    "do_lower_case": ("转小写",
                      "输入文本转为小写（默认：是，或沿用运行目录训练时的"
                      "设置）。"),
    "max_seq_length": ("最大序列长度",
                       "输入的最大 WordPiece 数，含 [CLS]/[SEP]（默认值见输入"
                       "框，或沿用运行目录训练时的设置）。分类截断更长的输入"
                       "（句对从较长的一句截）；NER 把长句切成相互重叠的窗口。"),
    "do_predict": ("预测测试集", "对测试集做预测。"),
    "max_train_samples": ("最多训练样本数",
                          "调试用：只用前 N 个训练样本训练（默认：全部）。计入"
                          "特征缓存的键。"),
    "max_eval_samples": ("最多评估样本数",
                         "调试用：只在验证集的前 N 个样本上评估（默认：全部）。"
                         "计入特征缓存的键。"),
    "max_predict_samples": ("最多预测样本数",
                            "调试用：只预测测试集的前 N 个样本（默认：全部）。"
                            "计入特征缓存的键。"),
    # training
    "train_batch_size": ("训练批大小", "每个微批次的样本数。"),
    "eval_batch_size": ("评估批大小", "评估时每批的样本数。"),
    "predict_batch_size": ("预测批大小", "预测时每批的样本数。"),
    "learning_rate": ("学习率", "峰值学习率（Adam）。"),
    "num_train_epochs": ("训练轮数", "训练的轮数（epoch）。"),
    "num_train_steps": ("训练步数",
                        "训练的微批次数（优先于 --num_train_epochs；与 "
                        "run_pretraining.py 的用法相同）。"),
    "warmup_proportion": ("预热比例", "学习率预热的步数占总步数的比例。"),
    "num_warmup_steps": ("预热步数",
                         "预热的微批次数（优先于 --warmup_proportion）。"),
    "optimizer": ("优化器",
                  "adamw：AdamWeightDecay；lamb：LAMB（逐层信任比，适合大"
                  "批量）。"),
    "weight_decay_rate": ("权重衰减率", "解耦的权重衰减。"),
    "gradient_accumulation_steps": ("梯度累积步数",
                                    "每次参数更新累积的微批次数。"),
    "layerwise_lr_decay": ("逐层学习率衰减",
                           "共 L 层时第 i 层的学习率为 lr * decay**(L-i)，"
                           "嵌入层为 decay**(L+1)。取值范围 (0, 1]。"),
    "freeze_embeddings": ("冻结嵌入层", "不训练嵌入层。"),
    "trainable_layers": ("可训练层数",
                         "只训练最上面 N 层编码器（以及 pooler 和任务头）。"),
    "freeze_encoder": ("冻结编码器", "只训练任务头。"),
    "freeze": ("冻结变量", "正则表达式：冻结名称与之匹配的变量。"),
    "class_weights": ("类别权重",
                      "按标签给训练损失加权：'balanced'（n / (k * count)），"
                      "或按标签顺序每个标签一个数，如 1,4（分类、NER 的 "
                      "softmax 头）。"),
    "focal_loss_gamma": ("Focal loss γ",
                         "> 0 时使用 focal loss：每项损失乘以 (1 - p)^gamma"
                         "（分类、NER 的 softmax 头）。"),
    "seed": ("随机种子", "随机种子（计算图和数据顺序）。"),
    "dynamic_padding": ("动态填充",
                        "按长度分桶组批；false 则每批都填充到 max_seq_length"
                        "（Google 的做法）。"),
    "use_amp": ("混合精度",
                "训练时的自动混合精度：GPU 上为 float16 图改写加动态损失缩放；"
                "带 AMX（amx_bf16）的 CPU 上矩阵乘法用 bfloat16，权重和其余计算"
                "仍为 float32。其他硬件上会提示并且不做任何改变。"),
    "pack_sequences": ("序列打包",
                       "把每个训练批次的样本拼成少数几行（块对角注意力，每个"
                       "样本的位置从头编号）：填充比按长度分桶更少。评估和预测"
                       "不打包。"),
    "save_checkpoints_steps": ("检查点间隔步数", "每隔多少步保存一次检查点。"),
    "keep_checkpoint_max": ("保留检查点数", "最多保留的检查点个数。"),
    "eval_every_steps": ("验证间隔步数",
                         "训练中每 N 步在验证集上评估一次，并在 "
                         "output_dir/best 中保留最佳检查点。"),
    "best_metric": ("最佳检查点指标",
                    "挑选最佳检查点所用的指标（分类：accuracy 或 macro_f1；"
                    "NER：f1、precision 或 recall；默认：第一个）。"),
    "early_stopping_patience": ("早停耐心值",
                                "连续 N 次评估 best_metric 都没有提升就停止"
                                "训练。"),
    "log_every_seconds": ("日志间隔（秒）", "打印进度行的间隔秒数。"),
    "num_threads": ("线程数", "TensorFlow 线程数（0：使用全部核心）。"),
    # named entities
    "crf": ("CRF", "使用 CRF 头（图内 Viterbi 解码）代替逐 token 的 softmax。"),
    "crf_learning_rate": ("CRF 学习率",
                          "CRF 转移矩阵的学习率（默认：--learning_rate）；同样"
                          "有预热和衰减。"),
    "lstm_size": ("LSTM 单元数",
                  "> 0 时在编码器和任务头之间加一层双向 LSTM，每个方向这么多"
                  "单元（配合 --crf 即 BiLSTM-CRF）。"),
    # reading comprehension
    "squad_style": ("SQuAD 风格",
                    "google：Google run_squad.py 的读取方式、特征与答案；"
                    "hfl_cmrc：HFL 的 CMRC 2018 基线（每个 CJK 字符算一个词，"
                    "答案只取自上下文，按窗口做 log-softmax 排序）。默认：沿用"
                    "该运行的设置，否则 google。"),
    "doc_stride": ("文档步长",
                   "长上下文切成窗口时，相邻窗口起点之间的 token 数。"),
    "max_query_length": ("问题最大长度",
                         "问题保留的 token 数（更长的问题会被截断）。"),
    "n_best_size": ("候选答案数",
                    "每个问题保留的候选答案数（nbest_predictions.json）。"),
    "max_answer_length": ("答案最大长度", "答案最多的 WordPiece 数。"),
    "version_2_with_negative": ("SQuAD 2.0",
                                "SQuAD 2.0：问题可能没有答案"
                                "（is_impossible）；会写出 null_odds.json。"),
    "null_score_diff_threshold": ("无答案阈值",
                                  "SQuAD 2.0：无答案得分减去最佳片段得分超过"
                                  "此值时，预测为无答案。"),
    "verbose_logging": ("详细日志", "记录无法映射回上下文的答案。"),
    # distillation
    "student_layers": ("学生模型层",
                       "学生模型保留的教师模型层，如 0,2,4（代替 "
                       "--init_checkpoint）。"),
    "alpha": ("硬标签损失权重",
              "硬标签损失的权重；软（教师）损失的权重为 1 - alpha。取 1.0 且"
              "没有中间层损失时，就是对学生模型的普通微调。"),
    "temperature": ("蒸馏温度",
                    "软损失的 softmax 温度 T（对 logits / T 求 KL(教师 || "
                    "学生)，再乘以 T^2）。"),
    "hidden_loss_weight": ("隐藏层损失权重",
                           "TinyBERT：对应层之间隐藏状态的 MSE。"),
    "attention_loss_weight": ("注意力损失权重",
                              "TinyBERT：对应层之间注意力分数的 MSE。"),
    "layer_map": ("层映射",
                  "学生层:教师层 的对应关系，如 0:1,1:3,2:5（默认：均匀对应，"
                  "或按 --student_layers）。"),
    # pre-training (run_pretraining.py, and the text it makes examples of)
    "max_predictions_per_seq": ("每条序列最多预测数",
                                "每条序列最多预测的掩码词数（默认：从输入文件"
                                "读取；由 --data_dir 生成时为 20）。"),
    "max_eval_steps": ("评估批次数", "每次评估读取的批次数。"),
    "masked_lm_only": ("仅掩码语言模型",
                       "只训练掩码语言模型，不要下一句预测头（如在单句文本上"
                       "做领域自适应预训练）。"),
    "dynamic_masking": ("动态掩码",
                        "每次读取样本时重新抽取掩码（RoBERTa 的做法），而非"
                        "使用存储的掩码。"),
    "random_seed": ("数据随机种子", "生成掩码和随机下一句时用的随机种子。"),
    "dupe_factor": ("重复次数", "输入文本重复使用的次数（每次掩码不同）。"),
    "masked_lm_prob": ("掩码比例", "每个词被掩码的概率。"),
    "short_seq_prob": ("短序列概率", "生成较短目标序列的概率。"),
    "do_whole_word_mask": ("全词掩码",
                           "整词掩码：按 WordPiece 词，或按 "
                           "--word_segmentation 的分词结果。"),
    "word_segmentation": ("中文分词方式",
                          "中文全词掩码所用的词：spaces（已用空格分好词的语料）、"
                          "wordlist（按 --word_list 正向最大匹配）、jieba（可选"
                          "安装的 jieba 包）。"),
    "sop": ("句序预测（SOP）", "使用 ALBERT 的句子顺序预测，代替下一句预测。"),
    "max_ngram": ("最大 n-gram",
                  "ALBERT 的 n-gram 掩码：最多 N 个整词连成一段（ALBERT 为 3）；"
                  "1 表示只掩单个词。"),
})

# Each kind's title (the form's Kind list) and its try box's inputs.
TITLES_ZH = types.MappingProxyType({
    "Classification": "文本分类",
    "Named entities (NER)": "命名实体识别（NER）",
    "Regression (a score per text or pair)": "回归（为每条文本或句对打分）",
    "Reading comprehension (SQuAD, CMRC 2018)":
        "阅读理解（SQuAD、CMRC 2018）",
    "Distillation": "知识蒸馏",
    "Pre-training (masked LM on raw text)": "预训练（在纯文本上训练掩码语言模型）",
    "Question": "问题",
    "Context: the passage the answer is taken from": "上下文：答案所在的段落",
})

# The studio's own messages, by their English template.
MESSAGES_ZH = types.MappingProxyType({
    # a run's status, in messages about it (jobs.py)
    "queued": "排队中",
    "running": "运行中",
    "done": "已完成",
    "failed": "失败",
    "stopped": "已停止",
    # JSON types (server.check_body, commands.parse_value)
    "a string": "字符串",
    "a JSON object": "JSON 对象",
    "a list": "列表",
    "true or false": "true 或 false",
    "a number": "数字",
    "null": "null",
    "no fields ({})": "不带字段（{}）",
    # server.py
    "unknown field %r: this request takes %s":
        "未知字段 %r：此请求只接受 %s",
    "%s: must be %s, got %s": "%s：应为%s，收到的是%s",
    "name: a string of at most %d characters":
        "name：最多 %d 个字符的字符串",
    "no run %r in this workspace": "此工作区中没有运行 %r",
    "no run %s": "没有运行 %s",
    "ids: name 2 to 8 runs, e.g. ?ids=r1,r2":
        "ids：指定 2 到 8 个运行，如 ?ids=r1,r2",
    "offset and limit: whole numbers": "offset 和 limit：应为整数",
    "%s failed: a failed run is not exported (resume it, or start it again "
    "with what its error names changed)":
        "%s 已失败：失败的运行不能导出（继续它，或按报错修改后重新开始运行）",
    "request body of %d bytes: the limit is %d":
        "请求体有 %d 字节：上限为 %d",
    "Host %r is not this studio's address": "Host %r 不是本工作台的地址",
    "a token is required: open the address studio.py printed (it ends in "
    "?token=...)":
        "需要令牌：请打开 studio.py 打印的地址（以 ?token=... 结尾）",
    "missing or wrong X-Studio-Csrf header: requests that change something "
    "come from the studio's page":
        "X-Studio-Csrf 请求头缺失或有误：会修改内容的请求必须来自工作台页面",
    "the body is not JSON": "请求体不是 JSON",
    "the body must be a JSON object": "请求体必须是 JSON 对象",
    "no predictions file %r": "没有预测文件 %r",
    "no predictions file %s": "没有预测文件 %s",
    "no such page: %s": "没有这个页面：%s",
    "%s has no checkpoint to predict with yet":
        "%s 还没有可用于预测的检查点",
    "no such action: %s": "没有这个操作：%s",
    # commands.py
    "%s: a number, a string or true/false, got %s":
        "%s：应为数字、字符串或 true/false，收到的是%s",
    "%s: not an int: %r": "%s：不是 int：%r",
    "%s: not a %s: %r": "%s：不是 %s：%r",
    "%s: %r is not one of %s": "%s：%r 不在可选值 %s 之中",
    "%s: a string of one line, at most %d characters":
        "%s：应为单行字符串，最多 %d 个字符",
    "the request must be a JSON object": "请求必须是 JSON 对象",
    "kind: one of %s, got %r": "kind：应为 %s 之一，收到的是 %r",
    "values: a JSON object of field: value":
        "values：应为“字段: 值”形式的 JSON 对象",
    "unknown field(s) for %s: %s (the studio passes only the form's fields)":
        "%s 没有这些字段：%s（工作台只传递表单中的字段）",
    "%s: pick a student model, or give student_layers (teacher layers to "
    "keep)":
        "%s：请选择学生模型，或填写 student_layers（要保留的教师模型层）",
    "%s: pick a folder under %s/": "%s：请选择 %s/ 下的目录",
    "%s: %r is not a folder in the workspace": "%s：%r 不是工作区中的目录",
    # views.py
    "kind: one of %s (a data preview), got %r":
        "kind：应为 %s 之一（可预览数据的类型），收到的是 %r",
    "folder: %r is not a data folder": "folder：%r 不是数据目录",
    # jobs.py
    "%s is %s: only a queued or running run can be stopped":
        "%s %s：只有排队中或运行中的运行可以停止",
    "%s is %s: only a stopped or failed run can be resumed":
        "%s %s：只有已停止或失败的运行可以继续",
    "name: one line of 1 to %d characters": "名称：1 到 %d 个字符，不能换行",
    "tags: at most %d tags of 1 to 30 letters, digits or . _ + -, got %s":
        "标签：最多 %d 个，每个由 1 到 30 个字母、数字或 . _ + - 组成，收到的"
        "是 %s",
    "confirm: repeat the run id (%s) to delete its files":
        "确认：请再输入一次运行 ID（%s）以删除它的文件",
    "%s is %s: stop it before deleting it": "%s %s：请先停止再删除",
    "%s: its folder is not a folder inside runs/; not deleted":
        "%s：它的目录不是 runs/ 下的目录，未删除",
    # workspace.py
    "file: binary data (a NUL byte); upload UTF-8 text":
        "文件：是二进制数据（含 NUL 字节）；请上传 UTF-8 文本",
    "file: not UTF-8 (byte %d); save it as UTF-8 (e.g. iconv -f GBK -t "
    "UTF-8)":
        "文件：不是 UTF-8 编码（第 %d 字节）；请另存为 UTF-8（如 iconv -f "
        "GBK -t UTF-8）",
    "a path is required": "需要一个路径",
    "%r: give a path relative to the workspace": "%r：请给出相对于工作区的路径",
    "%r: '..' is not allowed in paths": "%r：路径中不允许出现 '..'",
    "%r is not inside the workspace's %s/ folder": "%r 不在工作区的 %s/ 目录中",
    "folder: a name of letters, digits, _ and - (at most 40), got %r":
        "目录：名称只能由字母、数字、_ 和 - 组成（最多 40 个），收到的是 %r",
    "file: a split file named train, dev or test with one of the types %s "
    "(train.tsv, dev.jsonl, example.train), got %r":
        "文件：应为名为 train、dev 或 test 的数据划分文件，类型为 %s 之一"
        "（如 train.tsv、dev.jsonl、example.train），收到的是 %r",
    "file: %d bytes; the limit is %d": "文件：%d 字节；上限为 %d",
    "data/%s holds %d files: the limit is %d":
        "data/%s 已有 %d 个文件：上限为 %d",
    "data/%s/%s exists: replace it, or upload into another folder":
        "data/%s/%s 已存在：请选择替换，或上传到另一个目录",
    "%r is not a run id (r1, r2, ...)": "%r 不是运行 ID（r1、r2……）",
    # trying.py
    "%s: %s": "%s：%s",
    "%s has no checkpoint to export yet: wait until it has trained (or "
    "resume it)":
        "%s 还没有可导出的检查点：请等它训练一段时间（或继续它）",
    "serve.py: %s": "serve.py：%s",
    "file line %d: a tab, but this model takes a single text; one text a "
    "line":
        "文件第 %d 行：含制表符，但此模型只接受单条文本；每行一条文本",
    "file line %d: longer than %d characters": "文件第 %d 行：超过 %d 个字符",
    "file: more than %d texts; split it": "文件：超过 %d 条文本；请拆分",
    "file: no text in it (one text a line)": "文件：没有文本（每行一条文本）",
    "file line %d: %s": "文件第 %d 行：%s",
    "file: %s": "文件：%s",
    "text: type a sentence": "文本：请输入一句话",
    "text_b: a string": "text_b：应为字符串",
    "text: at most %d characters": "文本：最多 %d 个字符",
    "text_b: this model takes a single text": "text_b：此模型只接受单条文本",
    "text: %s": "文本：%s",
    "serve.py did not start: %s": "serve.py 未能启动：%s",
    "%s is a %s run: it does not predict or export; start a fine-tuning run "
    "from it (its output is a model of the New run form)":
        "%s 是 %s 运行：它不做预测，也不导出；请以它为模型开始一个微调运行"
        "（它的输出会出现在“新建运行”表单的模型列表中）",
})

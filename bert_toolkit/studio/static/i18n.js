// BERT Studio's languages: English, and Simplified Chinese from the catalog
// below. Loaded before app.js, which passes every word of the page through
// t(english, ...args): the Chinese of `english` when the page is in
// Chinese and the catalog has it, else the English; '{0}', '{1}', ... are
// replaced by the arguments. The choice is kept in localStorage
// ('studio.lang'); without one, a browser whose language is Chinese gets
// Chinese. Words the server sends (form fields, kind titles, error
// replies) are translated by the server: bert_toolkit/studio/i18n.py.
// Names stay as they are in both languages: metric keys (accuracy, f1),
// flags (--learning_rate), labels, file names.
'use strict';
(function () {
  const KEY = 'studio.lang';
  const NAMES = {'en': 'English', 'zh-CN': '中文'};

  // English -> Chinese, one entry a line, keyed by the exact English
  // app.js passes to t() (tests/test_studio.py checks every one is here).
  const ZH = {
    // the nav, the title
    'BERT Studio': 'BERT Studio 工作台',
    'Runs': '运行列表',
    'New run': '新建运行',
    'Compare': '比较',
    'Tick at least two runs in the runs list': '在运行列表中勾选至少两个运行',
    'Click to dismiss': '点击关闭',
    'Switch the page to another language': '切换界面语言',
    'Cannot reach the studio server ({0})': '无法连接工作台服务器（{0}）',
    'HTTP {0} {1} on {2} {3}': '{2} {3} 返回 HTTP {0} {1}',
    // statuses of runs
    'queued': '排队中',
    'running': '运行中',
    'done': '已完成',
    'failed': '失败',
    'stopped': '已停止',
    // times
    '{0}h {1}m': '{0} 小时 {1} 分',
    '{0}m {1}s': '{0} 分 {1} 秒',
    '{0}s': '{0} 秒',
    // the runs list
    'Run': '运行',
    'Kind': '类型',
    'Status': '状态',
    'Progress': '进度',
    'ETA': '剩余时间',
    'Metric': '指标',
    'Created': '创建时间',
    'Filter: name, id, tag, kind, status': '筛选：名称、ID、标签、类型、状态',
    'archived': '已归档',
    'Compare selected ({0})': '比较所选（{0}）',
    '{0} runs, none matching the filter.': '共 {0} 个运行，没有符合筛选条件的。',
    '{0} runs, none matching the filter (archived ones hidden).': '共 {0} 个运行，没有符合筛选条件的（已归档的未显示）。',
    'No runs yet.': '还没有运行。',
    'Start one.': '新建一个。',
    'Tick for comparing': '勾选以进行比较',
    'Stop': '停止',
    'Resume': '继续',
    // the new-run form
    'Could not load the options.': '无法加载选项。',
    '(none)': '（无）',
    '(no data folders)': '（没有数据目录）',
    '(no model folders)': '（没有模型目录）',
    '(no finished runs)': '（没有已完成的运行）',
    'optional, e.g. sst2 minilm lr 3e-5': '可选，如 sst2 minilm lr 3e-5',
    'Teacher': '教师模型',
    'A finished classifier / NER run to distil.': '要蒸馏的已完成分类 / NER 运行。',
    'Data': '数据',
    'Model': '模型',
    'Run name': '运行名称',
    'Settings': '设置',
    'More settings': '更多设置',
    'No other settings.': '没有其他设置。',
    'Command': '命令',
    'Start run': '开始运行',
    'Working...': '处理中…',
    '(default)': '（默认）',
    'not set ({0})': '未设置（{0}）',
    'guessed: {0}': '推测：{0}',
    '(guessed: {0})': '（推测：{0}）',
    // data in: upload and preview
    'Upload into data/': '上传到 data/',
    'folder name, e.g. reviews': '目录名，如 reviews',
    'Upload': '上传',
    'Choose files': '选择文件',
    'Choose a file': '选择文件',
    'No file chosen': '未选择文件',
    'Name a folder and pick its split files.': '请填写目录名并选择数据文件。',
    '{0} of {1} files in data/{2}/': '已上传 {0}/{1} 个文件到 data/{2}/',
    'Split files named train, dev or test (.tsv, .csv, .jsonl, .json, .txt, or example.train ...), UTF-8, up to 50 MB each, 8 a folder.': '文件名为 train、dev 或 test 的训练集 / 验证集 / 测试集文件（.tsv、.csv、.jsonl、.json、.txt，或 example.train 等），UTF-8 编码，每个不超过 50 MB，每个目录最多 8 个。',
    'No preview for this kind.': '此类型不支持数据预览。',
    'train': '训练集',
    'dev': '验证集',
    'test': '测试集',
    '{0} {1} rows': '{0} {1} 行',
    ', ': '，',
    'no split read': '没有读到任何数据文件',
    'read as --task={0}': '按 --task={0} 读取',
    'columns: {0}': '列：{0}',
    'train label': '训练集标签',
    'count': '数量',
    'WordPieces per train text ({0} measured): median {1}, 95% ≤ {2}, max {3}': '训练文本的 WordPiece 数（统计 {0} 条）：中位数 {1}，95% ≤ {2}，最大 {3}',
    // charts
    'Loss': '损失',
    'Learning rate': '学习率',
    'Evaluation': '评估',
    'Training loss': '训练损失',
    'Evaluation: ': '评估：',
    'smoothing': '平滑',
    'step': '步数',
    'best': '最佳',
    'last': '最新',
    'train loss': '训练损失',
    'dev {0}': '验证集 {0}',
    '(raw)': '（原始）',
    'no data yet': '暂无数据',
    // a run's page
    'Run {0} not found': '找不到运行 {0}',
    'exit code {0}': '退出码 {0}',
    'Change what it names and start the run again: resuming would stop the same way.': '请按报错修改后重新开始运行：继续运行会以同样的方式停止。',
    'The run failed (exit code {0}); the end of its log is below.': '运行失败（退出码 {0}）；日志末尾见下方。',
    'Resume goes on from its last checkpoint.': '“继续”会从最近的检查点接着训练。',
    'step {0}': '步数 {0}',
    'not started': '未开始',
    'ETA {0}': '剩余 {0}',
    'Report': '评估报告',
    'Final dev results': '验证集最终结果',
    'The best dev checkpoint: step {0} of {1} trained.': '验证集最佳检查点：第 {0} 步（共训练 {1} 步）。',
    'The best dev checkpoint: step {0}.': '验证集最佳检查点：第 {0} 步。',
    'The last checkpoint: step {0}.': '最新检查点：第 {0} 步。',
    'No report yet (written after the dev evaluation).': '还没有报告（在验证集评估后生成）。',
    'gold \\ predicted': '真实 \\ 预测',
    'gold {0}, predicted {1}: {2}': '真实 {0}，预测 {1}：{2}',
    'label': '标签',
    'type': '实体类型',
    'precision': '精确率',
    'recall': '召回率',
    'f1': 'F1',
    'support': '样本数',
    'overall': '总体',
    'none': '无',
    'TensorBoard': 'TensorBoard',
    'The run\'s event files, in TensorBoard: type this in the workspace folder.': '在 TensorBoard 中查看该运行的事件文件：在工作区目录下输入此命令。',
    'Log': '日志',
    '(no log yet)': '（暂无日志）',
    'Export': '导出',
    'Export model': '导出模型',
    'A SavedModel for serving (serve.py / TF Serving).': '导出用于部署的 SavedModel（serve.py / TF Serving）。',
    'Working... (export can take ~20 s)': '处理中…（导出约需 20 秒）',
    'A failed run is not exported.': '失败的运行不能导出。',
    'Available once the run has a checkpoint.': '运行生成检查点后可用。',
    'A pre-training run is not exported: fine-tune from it.': '预训练运行不导出：请以它为起点微调。',
    'A pre-trained model does not predict labels: start a fine-tuning run from it (New run, Model: this run).': '预训练模型不预测标签：请以它为起点开始微调运行（新建运行，模型选这个运行）。',
    // error analysis
    'Dev examples': '验证集样本',
    'gold': '真实标签',
    'predicted': '预测标签',
    'text': '文本',
    'any': '全部',
    '{0} of {1}': '{0}/{1}',
    '{0} examples': '{0} 个样本',
    '{0} misclassified': '误分类 {0} 个',
    ', surest first': '，置信度高的在前',
    'Dev entity errors': '验证集实体错误',
    'missed': '漏识别',
    'spurious': '误识别',
    'wrong type': '类型错误',
    'wrong span': '边界错误',
    'kind': '错误类别',
    'sentence': '句子',
    'every type': '所有实体类型',
    'every kind': '所有错误类别',
    '{0}, {1}: {2}': '{0}，{1}：{2}',
    'No entity errors on dev.': '验证集上没有实体错误。',
    // try it
    'Try it': '在线试用',
    'Type a sentence…  (Ctrl+Enter to run)': '输入一句话…（Ctrl+Enter 运行）',
    'Second sentence (optional, for sentence-pair tasks)': '第二句（可选，用于句对任务）',
    'Try': '试用',
    'Type some text to try.': '请输入要试用的文本。',
    'Predicting… (the first try loads the model, ~20 s)': '预测中…（首次试用需加载模型，约 20 秒）',
    'Predicted: ': '预测：',
    'Answer: ': '答案：',
    '(no answer)': '（无答案）',
    'score {0}': '得分 {0}',
    'No entities found.': '未识别到实体。',
    'Predict a file': '批量预测',
    'UTF-8 text, one text a line (a pair: text<TAB>second text), up to 10,000 lines.': 'UTF-8 文本，每行一条（句对：文本<TAB>第二句），最多 10,000 行。',
    'Predict the file': '预测文件',
    'Download': '下载',
    'Pick a file first.': '请先选择文件。',
    'Predicting…': '预测中…',
    '{0} predictions: {1}': '{0} 条预测：{1}',
    // managing a run
    'Manage': '管理',
    'Name': '名称',
    'Tags': '标签',
    'baseline, lr-sweep': '如 baseline, lr-sweep',
    'Save': '保存',
    'Saved.': '已保存。',
    'Archive': '归档',
    'Unarchive': '取消归档',
    'Delete…': '删除…',
    'Delete files': '删除文件',
    'Stop the run before deleting it.': '请先停止运行再删除。',
    'This removes runs/{0} with its checkpoints, exports and log. Type {0} to confirm:': '这会删除 runs/{0}，包括其中的检查点、导出的模型和日志。输入 {0} 以确认：',
    // compare
    'Compare runs': '比较运行',
    'Tick at least two runs in the ': '在',
    'runs list': '运行列表',
    ', then press Compare.': '中勾选至少两个运行，然后点击“比较”。',
    'setting': '设置项',
    'metric': '指标',
    'evaluated at step': '评估所在步数',
    '{0} ({1})': '{0}（{1}）',
    'No final results yet.': '还没有最终结果。',
    '({0} differ, shown first)': '（{0} 项不同，排在前面）',
    '(all equal)': '（全部相同）',
  };

  function saved() {
    try { return localStorage.getItem(KEY); } catch (e) { return null; }
  }
  let language = NAMES[saved()] ? saved()
    : /^zh/i.test(navigator.language || '') ? 'zh-CN' : 'en';

  // The page's words in its language; '{n}' is the n-th argument after
  // the English.
  function t(english) {
    const args = arguments;
    const text = language === 'zh-CN' && Object.prototype.hasOwnProperty.call(ZH, english) ? ZH[english] : english;
    return String(text).replace(/\{(\d+)\}/g, function (whole, n) {
      const value = args[Number(n) + 1];
      return value === undefined ? whole : String(value);
    });
  }

  function other() { return language === 'zh-CN' ? 'en' : 'zh-CN'; }

  document.documentElement.lang = language;
  window.StudioI18n = Object.freeze({
    t: t,
    language: function () { return language; },    // 'en' or 'zh-CN' (also sent as X-Studio-Lang)
    chinese: function () { return language === 'zh-CN'; },
    other: other,
    otherName: function () { return NAMES[other()]; },
    setLanguage: function (lang) {
      if (!NAMES[lang]) return;
      language = lang;
      try { localStorage.setItem(KEY, lang); } catch (e) { /* kept for this page only */ }
    }
  });
})();

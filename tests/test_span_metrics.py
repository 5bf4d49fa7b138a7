"""bert_toolkit.tasks.span_metrics: SQuAD's and CMRC 2018's official rules on
hand-computed cases."""

import pytest

from bert_toolkit.tasks import span_metrics as m


def _dataset(questions, impossible=False):
  qas = []
  for qas_id, answers in questions:
    qa = {"id": qas_id, "question": "?",
          "answers": [{"text": a, "answer_start": 0} for a in answers]}
    if impossible:
      qa["is_impossible"] = not answers
    qas.append(qa)
  return {"data": [{"paragraphs": [{"context": "c", "qas": qas}]}]}


# ----------------------------------------------------------- CMRC 2018 ---

@pytest.mark.parametrize("answers, prediction, em, f1", [
    (["千年女王"], "千年女王", 1, 1.0),
    # 4 of 6 characters: P 1, R 2/3.
    (["松本零士原作"], "松本零士", 0, 0.8),
    # Punctuation of the official list is ignored by EM and F1.
    (["《千年女王》"], "千年女王。", 1, 1.0),
    (["1980-01-28"], "19800128", 1, 1.0),
    # English words are segments, lower-cased: 2 of 5 segments.
    (["John Smith在1980年"], "john smith", 0, 2 * 0.4 / 1.4),
    (["千年女王"], "", 0, 0.0),
    # Spaces count for EM, not for the segments.
    (["千年女王"], "千年 女王", 0, 1.0),
    # The longest common CONTIGUOUS run (1 here), not a subsequence (3).
    (["甲乙丙丁"], "甲丙乙丁", 0, 0.25),
    # Max over references: 北京市 gives P 3/4, R 1.
    (["北京", "北京市", "中国北京"], "北京市区", 0, 1.5 / 1.75),
    (["北京", "北京市", "中国北京"], "北京市", 1, 1.0),
    # "%" and "." are nltk tokens of their own; "." is not in the list.
    (["增长3.5%"], "3.5%", 0, 2 * 0.5 / 1.5),
])
def test_cmrc_rules(answers, prediction, em, f1):
  assert m.cmrc_em(answers, prediction) == em
  assert m.cmrc_f1(answers, prediction) == pytest.approx(f1)


def test_cmrc_segmentation():
  assert m.mixed_segmentation("2019年，John Smith's《书》") == [
      "2019", "年", "，", "john", "smith", "'s", "《", "书", "》"]
  # Dropped marks do not even separate words.
  assert m.mixed_segmentation("a-b：c d", rm_punc=True) == ["abc", "d"]


def test_cmrc_scores_average_over_all_questions():
  dataset = _dataset([(" q1 ", ["千年女王"]), ("q2", ["松本零士原作"]),
                      ("q3", ["北京"]), ("q4", ["上海"])])
  predictions = {"q1": "千年女王", "q2": "松本零士", "q3": "南京"}
  scores = m.cmrc_scores(dataset, predictions)
  assert scores["total"] == 4 and scores["skip"] == 1
  assert scores["exact_match"] == pytest.approx(25.0)
  # F1: 1 + 0.8 + 0.5 (京 of 2 and 2) + 0 (missing).
  assert scores["f1"] == pytest.approx(100 * 2.3 / 4)


# --------------------------------------------------------------- SQuAD ---

def test_squad_normalisation():
  assert m.normalize_answer("The  Eiffel-Tower, an  icon!") == \
      "eiffeltower icon"


def test_squad_v1():
  dataset = _dataset([("a", ["Eiffel Tower"]), ("b", ["Eiffel Tower"]),
                      ("c", ["Paris", "the city of Paris"]), ("d", ["x"]),
                      ("e", ["Rome"])])
  predictions = {"a": "the Eiffel Tower.", "b": "Tower of Paris",
                 "c": "city of Paris", "d": ""}
  scores = m.squad_scores(dataset, predictions)
  assert m.squad_version(dataset) == "1.1"
  assert scores["total"] == 5
  assert scores["exact_match"] == pytest.approx(100 * 2 / 5)
  # b: 1 of 3 and 2 words -> 0.4; c: 3 of 3 and 3 ("city of paris").
  assert scores["f1"] == pytest.approx(100 * (1 + 0.4 + 1) / 5)


def test_squad_v2():
  dataset = _dataset([("a", ["Eiffel Tower"]), ("n1", []), ("n2", []),
                      ("t", ["the", "The tower"]), ("gone", ["x"])],
                     impossible=True)
  predictions = {"a": "", "n1": "", "n2": "tower", "t": "tower"}
  scores = m.squad_scores(dataset, predictions)
  assert m.squad_version(dataset) == "2.0"
  # "gone" has no prediction: left out of the total.
  assert scores["total"] == 4
  assert scores["exact_match"] == pytest.approx(100 * 2 / 4)
  assert scores["f1"] == pytest.approx(100 * 2 / 4)
  assert scores["HasAns_total"] == 2 and scores["NoAns_total"] == 2
  assert scores["NoAns_exact_match"] == pytest.approx(50.0)
  # Forced 1.1 rules: the answerless questions cannot be matched.
  assert m.squad_scores(dataset, predictions, "1.1")["total"] == 5

"""modeling.crf against brute-force enumeration of every tag path in numpy."""

import itertools

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from modeling import crf

tf.disable_eager_execution()

SEEDS = list(range(16))


# ------------------------------------------------------------ reference ---

def path_score(potentials, path, transitions):
  """Score of one tag path (length = len(path)) for one sequence."""
  score = sum(potentials[t, tag] for t, tag in enumerate(path))
  score += sum(transitions[a, b] for a, b in zip(path[:-1], path[1:]))
  return score


def brute_force(potentials, length, transitions):
  """(log Z, best path, best score) over all num_tags**length paths."""
  num_tags = potentials.shape[1]
  if length == 0:
    return 0.0, [], 0.0
  paths = list(itertools.product(range(num_tags), repeat=length))
  scores = np.array([path_score(potentials, p, transitions) for p in paths])
  top = scores.max()
  log_z = top + np.log(np.exp(scores - top).sum())
  best = int(np.argmax(scores))
  return log_z, list(paths[best]), scores[best]


def random_case(seed, num_tags=None, lengths=None, batch=3):
  """Random potentials, tags, lengths and transitions (float64 numpy)."""
  rng = np.random.RandomState(seed)
  num_tags = num_tags or rng.randint(3, 5)
  if lengths is None:
    max_len = rng.randint(2, 6)
    lengths = [1, max_len, rng.randint(1, max_len)]
  lengths = np.array(lengths, dtype=np.int32)
  max_len = max(int(lengths.max()), 1)
  potentials = rng.randn(len(lengths), max_len, num_tags) * 2
  transitions = rng.randn(num_tags, num_tags) * 2
  tags = rng.randint(0, num_tags, size=[len(lengths), max_len])
  return potentials, tags.astype(np.int32), lengths, transitions


# ------------------------------------------------------------- the graph ---

_GRAPHS = {}


class CrfGraph(object):
  """crf_log_likelihood and crf_decode on [None, None, n] placeholders."""

  def __init__(self, num_tags, dtype=tf.float64):
    self.graph = tf.Graph()
    with self.graph.as_default():
      self.potentials = tf.placeholder(dtype, [None, None, num_tags])
      self.tags = tf.placeholder(tf.int32, [None, None])
      self.lengths = tf.placeholder(tf.int32, [None])
      self.transitions = tf.placeholder(dtype, [num_tags, num_tags])
      self.log_likelihood, _ = crf.crf_log_likelihood(
          self.potentials, self.tags, self.lengths, self.transitions)
      self.decoded, self.best_score = crf.crf_decode(
          self.potentials, self.transitions, self.lengths)
    self.session = tf.Session(graph=self.graph)

  @classmethod
  def get(cls, num_tags, dtype=tf.float64):
    """One shared graph per (num_tags, dtype): building is the slow part."""
    key = (num_tags, dtype)
    if key not in _GRAPHS:
      _GRAPHS[key] = cls(num_tags, dtype)
    return _GRAPHS[key]

  def run(self, fetches, potentials, tags, lengths, transitions):
    return self.session.run(fetches, {
        self.potentials: potentials, self.tags: tags,
        self.lengths: lengths, self.transitions: transitions})


@pytest.mark.parametrize("seed", SEEDS)
def test_log_likelihood_matches_brute_force(seed):
  potentials, tags, lengths, transitions = random_case(seed)
  graph = CrfGraph.get(potentials.shape[2])
  got = graph.run(graph.log_likelihood, potentials, tags, lengths,
                  transitions)
  assert got.shape == (len(lengths),)
  for b, length in enumerate(lengths):
    log_z, _, _ = brute_force(potentials[b], length, transitions)
    expected = path_score(potentials[b], tags[b, :length], transitions) - log_z
    assert got[b] == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_padding_is_ignored(seed):
  """Values beyond a sequence's length change nothing."""
  potentials, tags, lengths, transitions = random_case(seed)
  graph = CrfGraph.get(potentials.shape[2])
  fetches = [graph.log_likelihood, graph.decoded, graph.best_score]
  before = graph.run(fetches, potentials, tags, lengths, transitions)
  noisy_potentials = potentials.copy()
  noisy_tags = tags.copy()
  for b, length in enumerate(lengths):
    noisy_potentials[b, length:] = 1000.0
    noisy_tags[b, length:] = -1
  after = graph.run(fetches, noisy_potentials, noisy_tags, lengths,
                    transitions)
  for x, y in zip(before, after):
    np.testing.assert_allclose(x, y, atol=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_decode_matches_brute_force(seed):
  potentials, tags, lengths, transitions = random_case(seed)
  graph = CrfGraph.get(potentials.shape[2])
  decoded, best_score = graph.run([graph.decoded, graph.best_score],
                                  potentials, tags, lengths, transitions)
  assert decoded.dtype == np.int32
  assert decoded.shape == tags.shape
  for b, length in enumerate(lengths):
    _, best_path, expected_score = brute_force(potentials[b], length,
                                               transitions)
    assert list(decoded[b, :length]) == best_path
    assert list(decoded[b, length:]) == [0] * (tags.shape[1] - length)
    assert best_score[b] == pytest.approx(expected_score, abs=1e-5)


def test_one_graph_serves_any_batch_and_length():
  """The same [None, None, n] graph runs with different shapes."""
  graph = CrfGraph(4)  # a fresh graph: nothing run on it before
  for seed, lengths in [(1, [1]), (2, [5, 3, 1, 2]), (3, [2, 2]), (4, [1, 1])]:
    potentials, tags, lengths, transitions = random_case(
        seed, num_tags=4, lengths=lengths)
    decoded, log_likelihood = graph.run(
        [graph.decoded, graph.log_likelihood], potentials, tags, lengths,
        transitions)
    assert decoded.shape == tags.shape
    for b, length in enumerate(lengths):
      log_z, best_path, _ = brute_force(potentials[b], length, transitions)
      assert list(decoded[b, :length]) == best_path
      score = path_score(potentials[b], tags[b, :length], transitions)
      assert log_likelihood[b] == pytest.approx(score - log_z, abs=1e-5)


def test_float32_placeholders():
  potentials, tags, lengths, transitions = random_case(5, num_tags=3)
  graph = CrfGraph.get(3, dtype=tf.float32)
  log_likelihood = graph.run(graph.log_likelihood, potentials, tags, lengths,
                             transitions)
  for b, length in enumerate(lengths):
    log_z, _, _ = brute_force(potentials[b], length, transitions)
    expected = path_score(potentials[b], tags[b, :length], transitions) - log_z
    assert log_likelihood[b] == pytest.approx(expected, abs=1e-4)


def test_length_zero_is_finite_and_zero():
  potentials, tags, lengths, transitions = random_case(
      6, num_tags=3, lengths=[0, 3, 1])
  graph = CrfGraph.get(3)
  log_likelihood, decoded, best_score = graph.run(
      [graph.log_likelihood, graph.decoded, graph.best_score], potentials,
      tags, lengths, transitions)
  assert np.all(np.isfinite(log_likelihood))
  assert log_likelihood[0] == 0.0
  assert best_score[0] == 0.0
  assert list(decoded[0]) == [0, 0, 0]
  assert log_likelihood[1] < 0 and log_likelihood[2] < 0


def test_a_certain_path_has_log_likelihood_zero():
  """One dominant path: likelihood ~1 and Viterbi finds it."""
  gold = np.array([[2, 0, 1, 1]], dtype=np.int32)
  potentials = np.full([1, 4, 3], -50.0)
  for t, tag in enumerate(gold[0]):
    potentials[0, t, tag] = 50.0
  graph = CrfGraph.get(3)
  log_likelihood, decoded = graph.run(
      [graph.log_likelihood, graph.decoded], potentials, gold, [4],
      np.zeros([3, 3]))
  assert log_likelihood[0] == pytest.approx(0.0, abs=1e-9)
  assert decoded.tolist() == gold.tolist()


# ------------------------------------------------------------- training ---

@pytest.mark.parametrize("seed", SEEDS[:3])
def test_gradients_are_finite_and_descent_raises_likelihood(seed):
  potentials, tags, lengths, _ = random_case(seed, lengths=[0, 1, 4])
  num_tags = potentials.shape[2]
  with tf.Graph().as_default():
    unary = tf.Variable(potentials.astype(np.float32))
    with tf.variable_scope("crf"):
      transitions = crf.transition_variable(num_tags)
    log_likelihood, _ = crf.crf_log_likelihood(
        unary, tf.constant(tags), tf.constant(lengths), transitions)
    loss = tf.reduce_mean(-log_likelihood)
    gradients = tf.gradients(loss, [unary, transitions])
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss)
    with tf.Session() as session:
      session.run(tf.global_variables_initializer())
      first_gradients = session.run(gradients)
      for gradient in first_gradients:
        assert np.all(np.isfinite(gradient))
      assert np.abs(first_gradients[1]).sum() > 0
      likelihoods = [session.run(tf.reduce_sum(log_likelihood))]
      for _ in range(5):
        session.run(train_op)
        likelihoods.append(session.run(tf.reduce_sum(log_likelihood)))
  assert all(np.isfinite(likelihoods))
  assert all(b > a for a, b in zip(likelihoods, likelihoods[1:]))


def test_transition_variable():
  with tf.Graph().as_default():
    with tf.variable_scope("ner"):
      variable = crf.transition_variable(5)
    assert variable.name == "ner/transitions:0"
    assert variable.shape.as_list() == [5, 5]
    with tf.Session() as session:
      session.run(tf.global_variables_initializer())
      values = session.run(variable)
  assert np.abs(values).max() <= 0.04  # truncated normal, stddev 0.02


# ----------------------------------------------------------- constraints ---

def test_allowed_transitions_bio():
  tags = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
  mask = crf.allowed_transitions_mask(tags, "BIO")
  allowed = {(tags[i], tags[j]) for i in range(5) for j in range(5)
             if mask[i, j]}
  forbidden = {(a, b) for a in tags for b in tags} - allowed
  assert forbidden == {("O", "I-LOC"), ("O", "I-PER"), ("B-PER", "I-LOC"),
                       ("I-PER", "I-LOC"), ("B-LOC", "I-PER"),
                       ("I-LOC", "I-PER")}


def test_allowed_transitions_bioes():
  tags = ["O", "B-X", "I-X", "E-X", "S-X"]
  mask = crf.allowed_transitions_mask(tags, "BIOES")
  allowed = {(tags[i], tags[j]) for i in range(5) for j in range(5)
             if mask[i, j]}
  assert allowed == {
      ("O", "O"), ("O", "B-X"), ("O", "S-X"),
      ("B-X", "I-X"), ("B-X", "E-X"), ("I-X", "I-X"), ("I-X", "E-X"),
      ("E-X", "O"), ("E-X", "B-X"), ("E-X", "S-X"),
      ("S-X", "O"), ("S-X", "B-X"), ("S-X", "S-X")}


def test_constrained_decode_never_takes_a_forbidden_transition():
  tags = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
  mask = crf.allowed_transitions_mask(tags)
  rng = np.random.RandomState(0)
  potentials = rng.randn(20, 6, 5).astype(np.float32) * 3
  lengths = rng.randint(1, 7, size=[20]).astype(np.int32)
  with tf.Graph().as_default():
    transitions = crf.constrain_transitions(tf.zeros([5, 5]), mask)
    decoded, _ = crf.crf_decode(tf.constant(potentials), transitions,
                                tf.constant(lengths))
    with tf.Session() as session:
      decoded = session.run(decoded)
  for row, length in zip(decoded, lengths):
    for a, b in zip(row[:length - 1], row[1:length]):
      assert mask[a, b] == 1

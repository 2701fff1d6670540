"""SwimRegressor / SwimClassifier: scikit-learn conventions and what the fitted networks do."""

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import check_estimator

import specinit
from specinit import SwimClassifier, SwimRegressor


@pytest.mark.parametrize("estimator", [SwimRegressor(random_state=0), SwimClassifier(random_state=0)])
def test_sklearn_estimator_checks(estimator):
    check_estimator(estimator, on_skip=None)  # skipped only where pandas / array-API are absent


def test_regressor_fits_a_smooth_function_and_keeps_output_shapes():
    x = np.linspace(-1, 1, 400)[:, None]
    y = np.sin(3 * x[:, 0])
    reg = SwimRegressor(widths=(128,), dtype="float64", l2=1e-10, random_state=0).fit(x, y)
    assert reg.predict(x).shape == (400,)
    assert np.abs(reg.predict(x) - y).max() < 1e-4
    both = SwimRegressor(widths=(64,), random_state=0).fit(x, np.column_stack([y, -y]))
    assert both.predict(x).shape == (400, 2)
    assert isinstance(reg.model_, torch.nn.Sequential) and reg.model_[-1].out_features == 1


def test_classifier_probabilities_and_decisions():
    split = specinit.data.digits(generator=0)
    names = np.array(list("abcdefghij"))
    clf = SwimClassifier(widths=(128,), random_state=0)
    clf.fit(split.x_train.numpy(), names[split.y_train.numpy()])
    x_test = split.x_test.numpy()
    proba = clf.predict_proba(x_test)
    assert proba.shape == (len(x_test), 10) and (proba >= 0).all()
    np.testing.assert_allclose(proba.sum(1), 1.0)
    assert (clf.classes_[proba.argmax(1)] == clf.predict(x_test)).all()
    assert clf.decision_function(x_test).shape == (len(x_test), 10)
    assert clf.score(x_test, names[split.y_test.numpy()]) > 0.95
    binary = split.y_train.numpy() % 2
    two = SwimClassifier(widths=(64,), random_state=0).fit(split.x_train.numpy(), binary)
    decision = two.decision_function(x_test)
    assert decision.shape == (len(x_test),)
    assert ((decision > 0) == (two.predict(x_test) == 1)).all()


def test_options_reach_the_network():
    split = specinit.data.digits(generator=0)
    x, y = split.x_train.numpy(), split.y_train.numpy()
    deep = SwimClassifier(widths=(64, 32), scales=[0.5, 2.0], dtype="float64", random_state=0).fit(x, y)
    assert [m.out_features for m in deep.model_[::2]] == [64, 32, 10]
    assert all(p.dtype == torch.float64 for p in deep.model_.parameters())
    for sampler in ("uniform", "random_feature"):
        clf = SwimClassifier(widths=(256,), sampler=sampler, random_state=0).fit(x, y)
        assert clf.score(split.x_test.numpy(), split.y_test.numpy()) > 0.8
    with pytest.raises(ValueError, match="dtype must be one of float32, float64"):
        SwimClassifier(dtype="float16").fit(x, y)


def test_random_state_conventions():
    x = np.random.default_rng(0).normal(size=(60, 3))
    y = x.sum(1)
    same = [SwimRegressor(widths=(16,), random_state=7).fit(x, y).predict(x) for _ in range(2)]
    np.testing.assert_array_equal(*same)
    other = SwimRegressor(widths=(16,), random_state=8).fit(x, y).predict(x)
    assert not np.array_equal(same[0], other)
    rs = [
        SwimRegressor(widths=(16,), random_state=np.random.RandomState(3)).fit(x, y).predict(x)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(*rs)


def test_fitted_model_can_continue_training():
    x = torch.linspace(-1, 1, 128)[:, None]
    y = torch.sign(x[:, 0])
    reg = SwimRegressor(widths=(32,), random_state=0).fit(x.numpy(), y.numpy())
    net = reg.model_.train()
    before = float(torch.nn.functional.mse_loss(net(x)[:, 0], y).detach())
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(50):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x)[:, 0], y)
        loss.backward()
        opt.step()
    assert float(loss.detach()) < before

"Dashboards without a browser: faults driven through the Python API, throttled updates, kernel shutdown while training."
import os, subprocess, sys, textwrap, threading, time
from pathlib import Path
import pytest, torch

from molnb.data import load_builtin, random_split
from molnb.featurize import featurize
from molnb.models import PropertyModel, ModelConfig
from molnb.train import Trainer
from molnb.widgets import TrainingDashboard, Throttle, Panel, _LIVE

SETUP = textwrap.dedent('''
    import torch
    from molnb.data import load_builtin, random_split
    from molnb.featurize import featurize
    from molnb.models import PropertyModel, ModelConfig
    from molnb.train import Trainer
    from molnb.widgets import TrainingDashboard
    fs = load_builtin('freesolv', quiet=True)
    tr, va, _ = (featurize(d, quiet=True) for d in random_split(fs, seed=0).apply(fs))
''')


@pytest.fixture(scope='module')
def parts():
    fs = load_builtin('freesolv', quiet=True)
    return tuple(featurize(d, cache=False, quiet=True) for d in random_split(fs, seed=0).apply(fs))


def trainer(parts, **kw):
    tr, va, te = parts
    torch.manual_seed(0)
    kw = {'epochs': 200, 'batch_size': 32, **kw}
    return Trainer(PropertyModel(ModelConfig(hidden=16, layers=1)), tr, va, te, **kw)


def until(cond, timeout=60, what='condition'):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout: raise TimeoutError(f'waited {timeout} s for {what}')
        time.sleep(0.02)


def test_buttons_in_the_wrong_state_do_nothing_and_say_so(parts):
    d = TrainingDashboard(trainer(parts))
    assert d.pause() == 'ready' and 'nothing to pause' in d.message.value
    assert d.resume() == 'ready' and 'nothing to resume' in d.message.value
    assert d.stop() == 'ready' and 'nothing to stop' in d.message.value
    with pytest.raises(RuntimeError, match='press Start'): d.wait()
    d.start()
    until(lambda: d.trainer.step >= 2, what='two steps')
    with pytest.raises(RuntimeError, match='already going'): d.start()
    assert d.resume() == 'running'  # resume without pause
    d._click('resume')  # the button, pressed anyway: no error
    assert 'nothing to resume' in d.message.value
    d.stop(); d.stop()  # twice
    d._click('stop')  # and the button a third time
    res = d.wait(timeout=60)
    assert res.status == 'stopped' and d.state == 'stopped'
    assert [d.buttons[k].disabled for k in ('start', 'pause', 'resume', 'stop', 'checkpoint')] == [True] * 5
    d.close()


def test_learning_rate_reaches_the_engine_and_bad_values_are_refused(parts):
    d = TrainingDashboard(trainer(parts, lr=1e-3))
    d.set_lr(3e-4)  # before Start: from the first batch
    d.start(); until(lambda: d.trainer.step >= 1, what='a step')
    assert d.trainer.current_lr == 3e-4
    d.lr_slider.value = 2e-3  # the slider, as a person drags it
    until(lambda: d._status['lr'] == pytest.approx(2e-3, rel=1e-6), what='the engine to report the new rate')
    assert d.trainer.current_lr == pytest.approx(2e-3, rel=1e-6)
    with pytest.raises(ValueError, match='learning rate'): d.set_lr(0)
    d.lr_slider.value = d.lr_slider.max  # 1.0 is valid: no error
    assert 'error' not in d.message.value
    d.stop(wait=True); d.close()


def test_checkpoint_now_and_clear_errors_without_a_folder(parts, tmp_path):
    d = TrainingDashboard(trainer(parts))
    assert d.buttons['checkpoint'].disabled and 'checkpoint_dir' in d.buttons['checkpoint'].tooltip
    with pytest.raises(ValueError, match='checkpoint_dir'): d.save_checkpoint()
    d.close()
    d = TrainingDashboard(trainer(parts, checkpoint_dir=tmp_path/'ck', checkpoint_every=1000))
    with pytest.raises(RuntimeError, match='not started'): d.save_checkpoint()
    d.start(); until(lambda: d.trainer.step >= 3, what='three steps')
    path = d.save_checkpoint(timeout=60)  # while running: at the next batch boundary
    assert path == tmp_path/'ck'/'last.pt' and torch.load(path, weights_only=True)['step'] >= 3
    d._click('checkpoint')  # the button: non-blocking, reports in the message line
    until(lambda: 'checkpoint saved' in d.message.value, what='the button to report the checkpoint')
    d.stop(wait=True); d.close()


def test_an_exception_in_training_is_shown_and_the_controls_reset(parts):
    def bad_loss(model, batch, out): raise FloatingPointError('loss exploded (test)')
    d = TrainingDashboard(lambda: trainer(parts, loss_fn=bad_loss))
    d.start()
    with pytest.raises(FloatingPointError, match='exploded'): d.wait(timeout=60)
    assert d.state == 'failed' and 'FloatingPointError: loss exploded (test)' in d.error
    assert d.error_html.layout.display == 'block' and 'Training failed' in d.error_html.value
    assert [d.buttons[k].disabled for k in ('start', 'pause', 'resume', 'stop')] == [False, True, True, True]
    assert d.progress.bar_style == 'danger' and 'failed' in d.status_html.value
    d.start()  # a factory: Start tries again, and the error box is cleared
    assert d.error_html.layout.display == 'none'
    with pytest.raises(FloatingPointError): d.wait(timeout=60)
    d.close()


def test_closing_the_widget_stops_the_run(parts):
    d = TrainingDashboard(trainer(parts))
    d.start(); until(lambda: d.trainer.step >= 2, what='two steps')
    d.widget.close()  # what happens when the frontend closes the widget
    d.thread.join(60)
    assert not d.thread.is_alive() and d.state == 'stopped'
    d.close()
    assert d not in _LIVE


def count_messages(monkeypatch):
    "Count every message ipywidgets sends to the frontend (state updates of all widgets, FigureWidgets included)."
    import ipywidgets
    sent = []
    orig = ipywidgets.Widget._send
    def _send(self, msg, buffers=None):
        sent.append(time.monotonic()); return orig(self, msg, buffers)
    monkeypatch.setattr(ipywidgets.Widget, '_send', _send)
    return sent


def test_updates_are_throttled_on_fast_batches(parts, monkeypatch):
    "A burst of batch events (as from a tiny model on small batches) gives at most `updates_per_s` redraws a second."
    sent = count_messages(monkeypatch)
    d = TrainingDashboard(trainer(parts), updates_per_s=4)
    d._phase = 'running'  # as during a run: drive the engine's batch_end handlers directly, 3000 events about 1 ms apart
    t0 = time.monotonic()
    for i in range(3000):
        for h in d.trainer.handlers['batch_end']: h(d.trainer, dict(step=i + 1, loss=1.0 / (i + 1), lr=1e-3, batch_size=4))
        time.sleep(0.001)
    burst = time.monotonic() - t0
    time.sleep(0.5)  # the trailing redraw
    seconds = time.monotonic() - t0
    msgs = [t for t in sent if t >= t0]
    print(f'\nburst: 3000 batch events in {burst:.2f} s ({3000 / burst:.0f}/s): {d._throttle.calls} redraws, '
          f'{len(msgs)} widget messages in {seconds:.2f} s ({len(msgs) / seconds:.1f}/s)')
    assert d._throttle.calls <= 4 * seconds + 2
    assert len(msgs) <= 8 * d._throttle.calls  # a few messages per redraw (status, progress, the loss figure)
    assert len(d.panels[0].ys) == 3000 and d.panels[0].points <= 2000  # every event recorded; the plotted curve thinned
    assert 'step <span class="molnb-step">3000</span>' in d.status_html.value  # the last state is drawn
    d._phase = 'ready'; d.close()


def test_updates_during_a_real_run_are_throttled(parts, monkeypatch):
    sent = count_messages(monkeypatch)
    d = TrainingDashboard(trainer(parts, epochs=2, batch_size=4), updates_per_s=4)  # ~130 batches per epoch
    t0 = time.monotonic(); d.start(); res = d.wait(timeout=600); seconds = time.monotonic() - t0
    msgs = [t for t in sent if t >= t0]
    print(f'\nrun: {d.trainer.step} batches in {seconds:.1f} s ({d.trainer.step / seconds:.0f}/s): {d._throttle.calls} redraws '
          f'({d._throttle.calls / seconds:.1f}/s), {len(msgs)} widget messages ({len(msgs) / seconds:.1f}/s)')
    assert res.status == 'finished'
    assert d._throttle.calls <= 4 * seconds + 4  # at most 4 redraws a second, plus the start and the end
    assert len(msgs) <= 8 * d._throttle.calls + 10
    assert d.panels[0].points == d.trainer.step  # and yet every batch is on the curve
    d.close()


def test_throttle_trailing_call_draws_the_last_state():
    seen, state = [], {'v': 0}
    th = Throttle(lambda: seen.append(state['v']), per_s=10)
    for i in range(1, 101): state['v'] = i; th()
    time.sleep(0.3)
    assert seen == [1, 100] and th.calls == 2


def test_a_failing_panel_is_switched_off_and_the_run_goes_on(parts):
    class Bad(Panel):
        def observe(self, event, trainer, info): raise KeyError('oops')
    class D(TrainingDashboard):
        def make_panels(self): return super().make_panels() + [Bad()]
    d = D(trainer(parts, epochs=1))
    assert d.start().wait(timeout=120).status == 'finished'
    assert len(d.panel_errors) == 1 and "KeyError: 'oops'" in d.panel_errors[0][1]
    d.close()


def test_script_exit_while_training_stops_the_run_cleanly(tmp_path):
    "A script that starts a run and ends: the daemon thread does not keep it alive, and the atexit hook writes the final checkpoint."
    script = tmp_path/'run.py'
    script.write_text(SETUP + textwrap.dedent(f'''
        import time
        d = TrainingDashboard(Trainer(PropertyModel(ModelConfig(hidden=16, layers=1)), tr, va, epochs=500, batch_size=16,
                                      checkpoint_dir={str(tmp_path/'ck')!r}, checkpoint_every=1000))
        d.start()
        while d.trainer.step < 5: time.sleep(0.02)
        print('started', flush=True)
    '''))
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert 'started' in r.stdout
    ck = torch.load(tmp_path/'ck'/'last.pt', weights_only=True)  # written by the stop at exit (no epoch checkpoints here)
    assert ck['step'] >= 5 and ck['epoch'] < 500


def test_kernel_shutdown_while_training_ends_promptly(tmp_path):
    "A real Jupyter kernel, shut down (as JupyterLab does) while a dashboard trains: it exits by itself, quickly, after the final checkpoint."
    psutil = pytest.importorskip('psutil')
    from jupyter_client.manager import start_new_kernel
    km, kc = start_new_kernel(kernel_name='python3', startup_timeout=120)
    try:
        out = []
        def hook(msg):
            if msg['msg_type'] == 'stream': out.append(msg['content']['text'])
            if msg['msg_type'] == 'error': out.append('\n'.join(msg['content']['traceback']))
        code = SETUP + textwrap.dedent(f'''
            import os, time
            d = TrainingDashboard(Trainer(PropertyModel(ModelConfig(hidden=16, layers=1)), tr, va, epochs=500, batch_size=16,
                                          checkpoint_dir={str(tmp_path/'ck')!r}, checkpoint_every=1000))
            d.start()
            while d.trainer.step < 5: time.sleep(0.02)
            print('pid', os.getpid(), d.state, flush=True)
        ''')
        reply = kc.execute_interactive(code, timeout=240, output_hook=hook)
        assert reply['content']['status'] == 'ok', ''.join(out)
        pid = int(''.join(out).split('pid')[1].split()[0])
        assert 'running' in ''.join(out)
        kc.stop_channels()
        km.shutdown_wait_time = 60  # wait for a clean exit rather than kill after 5 s
        t0 = time.monotonic(); km.shutdown_kernel(now=False); took = time.monotonic() - t0
    finally:
        if km.is_alive(): km.shutdown_kernel(now=True)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    print(f'\nkernel shut down in {took:.1f} s while training')
    assert took < 20  # no orphaned thread held it (a non-daemon thread would hang until the 60 s kill)
    ck = torch.load(tmp_path/'ck'/'last.pt', weights_only=True)
    assert ck['step'] >= 5


def test_start_after_the_end_trains_afresh_and_keeps_the_old_checkpoint(parts, tmp_path):
    "The tour's promise: Start after a run has ended runs again from scratch, it does not resume the ended run's checkpoint."
    dash = TrainingDashboard(lambda: trainer(parts, epochs=2, checkpoint_dir=tmp_path))
    first = dash.start().wait(timeout=120)
    assert (tmp_path/'last.pt').exists() and first.status == 'finished'
    second = dash.start().wait(timeout=120)
    assert second.resumed_from is None and len(second.history) == 2 and second.status == 'finished'
    assert (tmp_path/'last.run1.pt').exists() and 'a fresh run' in dash.message.value and 'last.run1.pt' in dash.message.value
    assert dash.runs == 2
    dash.close()

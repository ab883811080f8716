# ---
# jupyter:
#   jupytext:
#     formats: ipynb,src//py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Chapter 13 — deep reinforcement learning
#
# Agents that learn from reward alone, on gymnasium environments:
#
# - **REINFORCE** with a value baseline (Williams 1992): Monte-Carlo policy gradient;
# - **DQN** (Mnih et al. 2015): Q-learning with replay, a target network and the Huber loss
#   (Double DQN as an option);
# - **PPO** (Schulman et al. 2017): clipped surrogate objective with GAE.
#
# TRPO, A2C/A3C, DRQN and UNREAL are trained the same way (`train_agent("trpo_cartpole")` ...);
# `fdl list` shows them all. The trained policy is exported to ONNX and plays the same episode on
# onnxruntime as in Keras.

# %%
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gymnasium
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

from fdl_keras.rl import train_agent
from fdl_keras.rl.envs import make_env, random_rollout
from fdl_keras.rl.policy import export_policy, keras_policy, onnx_policy, play_episode
from fdl_keras.rl.returns import discounted_returns, generalized_advantages
from fdl_keras.rl.unreal import pixel_change

FAST = os.environ.get("FDL_FAST") == "1"  # the test harness runs every notebook in fast mode
WORK = tempfile.mkdtemp(prefix="fdl_nb_")  # runs, frames and exports of this notebook go here
print("fast mode:", FAST, "| outputs in", WORK)
# Fast mode (CI only) trains each agent for a few thousand steps: the curves show the
# mechanics, not the final quality. The committed outputs are a full run, each agent capped at
# three minutes of wall time (benchmarks/RESULTS_rl.md has the longer runs).

# %% [markdown]
# ## Environments
#
# CartPole-v1 (four numbers, two actions, +1 per step up to 500); the flickering CartPole of
# Hausknecht & Stone (2015) that blanks the observation with probability 0.5, for the recurrent
# DRQN; and Breakout with the Atari preprocessing of the Nature DQN (84x84 grey frames, 4
# stacked).

# %%
env = make_env("CartPole-v1", seed=0)
observation, _ = env.reset(seed=0)
print("observation (x, x', theta, theta'):", observation, "| actions:", env.action_space)
flicker = random_rollout("FlickeringCartPole-v1", 12, seed=0)["observations"]
print("flickering CartPole, first 12 observations (blanked rows are zeros):")
print(np.round(flicker, 2))
try:
    breakout = make_env("ALE/Breakout-v5", seed=0)
    frames, _ = breakout.reset(seed=0)
    for _ in range(20):
        frames, *_ = breakout.step(1)  # FIRE, then the ball moves
    fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
    for i, ax in enumerate(axes):
        ax.imshow(frames[i], cmap="gray")
        ax.set_title(f"Breakout frame t-{3 - i}")
        ax.axis("off")
    plt.show()
    print("Breakout observation:", frames.shape, frames.dtype, "(84x84 grey, 4 stacked)")
except (ImportError, gymnasium.error.Error) as err:
    print("Breakout needs ale-py and opencv (the rl extra):", err)

# %% [markdown]
# ## Returns and advantages
#
# The pure functions behind the policy-gradient agents: discounted returns stop at episode ends;
# GAE interpolates between the one-step TD error (lambda 0) and the Monte-Carlo advantage (lambda
# 1).

# %%
rewards = np.array([1.0, 1.0, 1.0, 1.0])
dones = np.array([0, 0, 1, 0])  # the first episode ends at step 2
print(
    "discounted returns, gamma 0.9, bootstrap 10:",
    discounted_returns(rewards, dones, 0.9, last_value=10.0),
)
values = np.array([2.0, 1.5, 1.0, 5.0])
for lam in (0.0, 0.95, 1.0):
    advantages, _ = generalized_advantages(rewards, values, dones, 10.0, 0.9, lam)
    print(f"GAE lambda={lam:4}:", np.round(advantages, 3))

# %% [markdown]
# ## Training
#
# `train_agent(name, total_steps=..., run_dir=...)` shows a progress bar of steps and the running
# mean return (`verbose=1`; here `verbose=0`), writes checkpoints of networks, optimizer, step
# counter and replay buffer into `run_dir`, and resumes from them when called again. The full run
# here gives PPO 100k steps, REINFORCE 200k and DQN 50k, each stopped after at most three
# minutes of wall time (`time_limit_s`) so the notebook stays short on a CPU.

# %%
budgets = {
    "ppo_cartpole": (4_096, {}) if FAST else (100_000, {}),
    "reinforce_cartpole": (2_000, {"learning_rate": 3e-3}) if FAST else (200_000, {}),
    "dqn_cartpole": (
        2_500,
        {
            "learning_starts": 500,
            "train_frequency": 16,
            "gradient_steps": 8,
            "learning_rate": 1e-3,
            "exploration_fraction": 0.2,
            "target_update_interval": 200,
            "network": {"hidden_units": (64, 64)},
        },
    )
    if FAST
    else (50_000, {}),
}
runs = {}
for name, (steps, settings) in budgets.items():
    runs[name] = train_agent(
        name,
        total_steps=steps,
        seed=0,
        verbose=0,
        time_limit_s=None if FAST else 180,
        run_dir=os.path.join(WORK, name),
        **settings,
    )
    r = runs[name]
    print(
        f"{name:20s} {r['steps']:7d} steps {r['episodes']:5d} episodes "
        f"{r['wall_time_s']:6.1f} s  mean return of the last 100: {r['mean_return']:.1f}"
    )

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for name, r in runs.items():
    returns, ends = np.asarray(r["episode_returns"]), np.asarray(r["episode_ends"])
    window = min(20, len(returns))
    ax.plot(
        ends[window - 1 :],
        np.convolve(returns, np.ones(window) / window, "valid"),
        label=f"{name} (mean of {window})",
    )
ax.axhline(475, color="grey", ls="--", lw=1, label="solved (475)")
ax.set_xlabel("environment steps")
ax.set_ylabel("episode return")
ax.legend()
ax.set_title("Learning curves on CartPole-v1")
plt.show()
greedy = {name: r["agent"].evaluate(10).mean() for name, r in runs.items()}
for name, mean in greedy.items():
    print(f"{name:20s} greedy policy, 10 episodes: {mean:.1f}")

# %% [markdown]
# ## A rendered episode
#
# Frames from `render_mode="rgb_array"`, saved as a PNG strip and a GIF.

# %%
ppo = runs["ppo_cartpole"]["model"]
try:
    episode = play_episode(keras_policy(ppo), "CartPole-v1", seed=1, render=True, max_steps=100)
    frames = episode["frames"]
    picks = np.linspace(0, len(frames) - 1, 5).astype(int)
    strip = np.concatenate([frames[i] for i in picks], axis=1)
    plt.imsave(os.path.join(WORK, "cartpole_episode.png"), strip)
    images = [Image.fromarray(f).resize((300, 200)) for f in frames[::2]]
    images[0].save(
        os.path.join(WORK, "cartpole_episode.gif"),
        save_all=True,
        append_images=images[1:],
        duration=40,
        loop=0,
    )
    plt.figure(figsize=(12, 2.5))
    plt.imshow(strip)
    plt.axis("off")
    plt.title(f"PPO policy, steps {list(picks)} of the first {len(frames)}")
    plt.show()
    print("wrote", sorted(f for f in os.listdir(WORK) if f.startswith("cartpole_episode")))
except gymnasium.error.DependencyNotInstalled as err:
    print("rendering CartPole needs pygame: pip install 'gymnasium[classic-control]'", err)

# %% [markdown]
# ## Export
#
# The policy network goes to SavedModel and ONNX (verified on real observations); the greedy
# policy is the argmax of its logits in any runtime, so the ONNX policy on onnxruntime plays
# exactly the Keras episode.

# %%
report = export_policy(ppo, os.path.join(WORK, "ppo_export"), "CartPole-v1")
for runtime, r in report["runtimes"].items():
    print(f"{runtime:12s}", {k: v for k, v in r.items() if k != "file"})
in_keras = play_episode(keras_policy(ppo), "CartPole-v1", seed=7)
on_onnx = play_episode(
    onnx_policy(os.path.join(WORK, "ppo_export", "model.onnx")), "CartPole-v1", seed=7
)
same = np.array_equal(in_keras["actions"], on_onnx["actions"])
print(
    f"Keras return {in_keras['return']}, onnxruntime return {on_onnx['return']}, "
    f"the same {len(in_keras['actions'])} actions: {same}"
)
assert same

# %% [markdown]
# ## UNREAL: auxiliary tasks on pixels
#
# UNREAL (Jaderberg et al. 2017) is an actor-critic with a conv-LSTM (fed the previous action and
# reward) plus three auxiliary tasks on a small replay of recent steps: **pixel control**
# (Q-values for making the pixels of each grid cell change), **reward prediction** (the sign of
# the next reward from 3 frames, replay skewed so rewards are half of the samples) and **value
# replay**. It needs pixels, so it plays `PixelCartPole-v1`: CartPole drawn as 2 stacked 40x40
# frames, each action repeated for 4 CartPole steps (as Atari's frame skip: one 0.02 s step moves
# the pole's tip a tenth of a pixel, too little to see a velocity in). Here: the pseudo-reward of
# one step, a run of 30k steps (about a minute on a CPU) and its recurrent policy exported to
# ONNX. The comparison with the same agent without auxiliary tasks is in
# `benchmarks/RESULTS_rl.md`.

# %%
env = make_env("PixelCartPole-v1", seed=0)
frames, _ = env.reset(seed=0)
after, *_ = env.step(1)
change = np.asarray(pixel_change(frames[-1], after[-1], cell_size=4))
fig, axes = plt.subplots(1, 3, figsize=(9, 3))
for ax, image, title in zip(
    axes,
    (frames[-1], after[-1], change),
    ("frame t", "next (pushed right)", "pixel-control pseudo-reward"),
):
    ax.imshow(image, cmap="gray")
    ax.set_title(title)
    ax.axis("off")
plt.show()
unreal_settings = {
    "num_envs": 4,
    "replay_steps": 40,
    "sequence_length": 6,
    "auxiliary_batch": 2,
    "network": {"filters": (8, 8), "dense_units": 32, "lstm_units": 16},
}
unreal = train_agent(
    "unreal_pixel_cartpole",
    total_steps=160 if FAST else 30_000,
    seed=0,
    verbose=0,
    **(unreal_settings if FAST else {}),
)
agent = unreal["agent"]
print(
    f"{unreal['steps']} steps, {unreal['episodes']} episodes, mean return of the last 100: "
    f"{unreal['mean_return']:.1f}"
)
print("last losses:", {k: round(v, 3) for k, v in agent.metrics.items()})
model = unreal["model"]
export_policy(model, os.path.join(WORK, "unreal_export"), "PixelCartPole-v1")
size = model.inputs[2].shape[-1]
runs_of = [
    play_episode(run, "PixelCartPole-v1", seed=2, state_size=size, feeds_previous=True)
    for run in (keras_policy(model), onnx_policy(os.path.join(WORK, "unreal_export", "model.onnx")))
]
print(
    "ONNX policy (inputs: frames, previous action/reward, LSTM state) plays the Keras episode:",
    np.array_equal(runs_of[0]["actions"], runs_of[1]["actions"]),
)

# %% [markdown]
# ## What this chapter showed, checked
#
# The agents learn from reward alone: PPO's episode returns rise (the mean of its last 20
# training episodes is well above that of its first 20, in the fast run too), and in the full
# run its greedy policy balances the pole for at least 400 of the 500 steps. The exported ONNX
# policy plays exactly the Keras episode.

# %%
ppo_returns = np.asarray(runs["ppo_cartpole"]["episode_returns"])
first, last = ppo_returns[:20].mean(), ppo_returns[-20:].mean()
assert last > 1.5 * first, f"PPO returns did not rise: {first:.1f} -> {last:.1f}"
if not FAST:
    assert greedy["ppo_cartpole"] >= 400, greedy
assert same
greedy_means = {name: round(float(mean), 1) for name, mean in greedy.items()}
print(f"chapter 13 checks passed: PPO return {first:.1f} -> {last:.1f}, greedy {greedy_means}")

/** The implementation of the {@code ppo} objective: the DS component, the session's rollouts and PPO's arithmetic. */
package io.gradus.plugin.ppo.internal;

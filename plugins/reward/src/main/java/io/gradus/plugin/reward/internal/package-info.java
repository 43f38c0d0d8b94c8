/** The implementation of the {@code reward} objective: the DS component and the Bradley–Terry loss. */
package io.gradus.plugin.reward.internal;

/** The implementation of the {@code lora} tuner: the layer, the DS component, PEFT's file layout. */
package io.gradus.plugin.lora.internal;

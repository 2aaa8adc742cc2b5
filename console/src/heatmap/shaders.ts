import { KERNEL_FLOOR, REACH } from './kernel.ts'
import { RAMP_SIZE } from './ramp.ts'

/** Attribute locations, fixed in the shaders so the vertex array can be set up without a lookup. */
export const CORNER_LOCATION = 0
export const CELL_LOCATION = 1

const float = (v: number): string => (Number.isInteger(v) ? `${v}.0` : String(v))

/**
 * Pass 1, one instanced quad per cell: a splat of `count / peak` centred on the cell, added into the float
 * buffer. Positions are worked out in CSS px and mapped to clip space, so the device pixel ratio only
 * sets how many pixels the same picture gets. In full-width mode the quad spans the canvas and the kernel
 * only looks down the page.
 */
export const SPLAT_VS = `#version 300 es
layout(location = ${CORNER_LOCATION}) in vec2 a_corner;
layout(location = ${CELL_LOCATION}) in vec3 a_cell;
uniform vec2 u_view;
uniform vec2 u_spacing;
uniform float u_scroll;
uniform vec2 u_sigma;
uniform float u_fullWidth;
uniform float u_weight;
out vec2 v_offset;
out float v_weight;
void main() {
  vec2 centre = vec2((a_cell.x + 0.5) * u_spacing.x, (a_cell.y + 0.5) * u_spacing.y - u_scroll);
  vec2 pos = centre + a_corner * (${float(REACH)} * u_sigma);
  v_offset = a_corner * ${float(REACH)};
  if (u_fullWidth > 0.5) {
    pos.x = (a_corner.x * 0.5 + 0.5) * u_view.x;
    v_offset.x = 0.0;
  }
  v_weight = a_cell.z * u_weight;
  gl_Position = vec4(pos.x / u_view.x * 2.0 - 1.0, 1.0 - pos.y / u_view.y * 2.0, 0.0, 1.0);
}
`

export const SPLAT_FS = `#version 300 es
precision highp float;
in vec2 v_offset;
in float v_weight;
out vec4 outColor;
const float FLOOR = ${KERNEL_FLOOR.toPrecision(9)};
void main() {
  float k = max(exp(-0.5 * dot(v_offset, v_offset)) - FLOOR, 0.0) / (1.0 - FLOOR);
  outColor = vec4(v_weight * k, 0.0, 0.0, 0.0);
}
`

/** Pass 2, one triangle over the canvas (no vertex buffer): the field through the ramp, premultiplied. */
export const RESOLVE_VS = `#version 300 es
void main() {
  vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
`

export const RESOLVE_FS = `#version 300 es
precision highp float;
precision highp sampler2D;
uniform sampler2D u_field;
uniform sampler2D u_ramp;
uniform float u_intensity;
uniform float u_opacity;
uniform float u_diverging;
out vec4 outColor;
void main() {
  float f = texelFetch(u_field, ivec2(gl_FragCoord.xy), 0).r * u_intensity;
  float t = u_diverging > 0.5 ? clamp(0.5 + 0.5 * f, 0.0, 1.0) : clamp(f, 0.0, 1.0);
  outColor = texture(u_ramp, vec2((t * ${float(RAMP_SIZE - 1)} + 0.5) / ${float(RAMP_SIZE)}, 0.5)) * u_opacity;
}
`

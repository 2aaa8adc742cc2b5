import {
  type AttachmentOptions,
  createBufferFromTypedArray,
  createFramebufferInfo,
  createProgramInfo,
  createTexture,
  type FramebufferInfo,
  type ProgramInfo,
  resizeFramebufferInfo,
} from 'twgl.js'
import { HeatmapError } from './errors.ts'
import { RAMP_SIZE, rampTexels } from './ramp.ts'
import { CELL_LOCATION, CORNER_LOCATION, RESOLVE_FS, RESOLVE_VS, SPLAT_FS, SPLAT_VS } from './shaders.ts'
import type { FieldFormat, HeatmapStyle } from './types.ts'

/** Everything the renderer holds on the GPU; made again from scratch after a context loss. */
export interface Gpu {
  splat: ProgramInfo
  resolve: ProgramInfo
  /** The four corners of a splat quad. */
  corners: WebGLBuffer
  /** Cell instances (column, band, count), in band order; `capacity` cells of room. */
  cells: WebGLBuffer
  capacity: number
  splatVao: WebGLVertexArrayObject
  /** No attributes: the resolve pass makes its triangle from gl_VertexID. */
  resolveVao: WebGLVertexArrayObject
  ramps: Record<HeatmapStyle['ramp'], WebGLTexture>
  field: FramebufferInfo
  fieldAttachment: AttachmentOptions
  format: FieldFormat
}

interface Candidate {
  format: FieldFormat
  attachment: AttachmentOptions
  /** Alternative sets of extensions, any one of which makes the format renderable with blending. */
  needs: ReadonlyArray<ReadonlyArray<string>>
}

function candidates(gl: WebGL2RenderingContext): Candidate[] {
  const texture = { minMag: gl.NEAREST, wrap: gl.CLAMP_TO_EDGE }
  return [
    // One channel is all the field needs. Blending into 32-bit float also needs EXT_float_blend.
    {
      format: 'R32F',
      attachment: { ...texture, internalFormat: gl.R32F, format: gl.RED, type: gl.FLOAT },
      needs: [['EXT_color_buffer_float', 'EXT_float_blend']],
    },
    {
      format: 'R16F',
      attachment: { ...texture, internalFormat: gl.R16F, format: gl.RED, type: gl.HALF_FLOAT },
      needs: [['EXT_color_buffer_float'], ['EXT_color_buffer_half_float']],
    },
    {
      format: 'RGBA16F',
      attachment: { ...texture, internalFormat: gl.RGBA16F, format: gl.RGBA, type: gl.HALF_FLOAT },
      needs: [['EXT_color_buffer_float'], ['EXT_color_buffer_half_float']],
    },
  ]
}

/** The best float buffer this context can render and blend into, or an error naming what is missing. */
function createField(
  gl: WebGL2RenderingContext,
  width: number,
  height: number,
): Pick<Gpu, 'field' | 'fieldAttachment' | 'format'> {
  const has = (name: string): boolean => gl.getExtension(name) !== null
  const tried: string[] = []
  for (const c of candidates(gl)) {
    if (!c.needs.some((set) => set.every(has))) continue
    const field = createFramebufferInfo(gl, [c.attachment], width, height)
    const status = gl.checkFramebufferStatus(gl.FRAMEBUFFER)
    gl.bindFramebuffer(gl.FRAMEBUFFER, null)
    if (status === gl.FRAMEBUFFER_COMPLETE) return { field, fieldAttachment: c.attachment, format: c.format }
    tried.push(`${c.format} (framebuffer status 0x${status.toString(16)})`)
    gl.deleteFramebuffer(field.framebuffer)
    for (const a of field.attachments) gl.deleteTexture(a as WebGLTexture)
  }
  const missing = ['EXT_color_buffer_float', 'EXT_color_buffer_half_float', 'EXT_float_blend'].filter(
    (e) => !has(e),
  )
  throw new HeatmapError(
    'HM_ERR_HEATMAP_NO_FLOAT_BUFFER',
    `it needs EXT_color_buffer_float or EXT_color_buffer_half_float; missing here: ${missing.join(', ') || 'none'}` +
      (tried.length > 0 ? `; incomplete: ${tried.join(', ')}` : ''),
  )
}

function program(gl: WebGL2RenderingContext, name: string, vs: string, fs: string): ProgramInfo {
  const errors: string[] = []
  const info = createProgramInfo(gl, [vs, fs], (msg: string) => errors.push(msg)) as ProgramInfo | null
  if (info === null) throw new HeatmapError('HM_ERR_HEATMAP_SHADER', `${name}: ${errors.join('\n')}`)
  return info
}

function created<T>(v: T | null, what: string): T {
  // Only a lost context answers null here; the restore handler builds everything again.
  if (v === null) throw new HeatmapError('HM_ERR_HEATMAP_CONTEXT_LOST', `could not create ${what}`)
  return v
}

/** Builds every GPU resource: programs, buffers, the ramps, and the float buffer at `width` × `height`. */
export function createGpu(gl: WebGL2RenderingContext, width: number, height: number): Gpu {
  const field = createField(gl, width, height)
  const splat = program(gl, 'splat', SPLAT_VS, SPLAT_FS)
  const resolve = program(gl, 'resolve', RESOLVE_VS, RESOLVE_FS)
  const corners = createBufferFromTypedArray(gl, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]))
  const cells = created(gl.createBuffer(), 'the cell buffer')
  const splatVao = created(gl.createVertexArray(), 'a vertex array')
  gl.bindVertexArray(splatVao)
  gl.bindBuffer(gl.ARRAY_BUFFER, corners)
  gl.enableVertexAttribArray(CORNER_LOCATION)
  gl.vertexAttribPointer(CORNER_LOCATION, 2, gl.FLOAT, false, 0, 0)
  gl.bindBuffer(gl.ARRAY_BUFFER, cells)
  gl.enableVertexAttribArray(CELL_LOCATION)
  gl.vertexAttribPointer(CELL_LOCATION, 3, gl.FLOAT, false, 12, 0)
  gl.vertexAttribDivisor(CELL_LOCATION, 1)
  gl.bindVertexArray(null)
  const resolveVao = created(gl.createVertexArray(), 'a vertex array')
  const ramp = (name: HeatmapStyle['ramp']) =>
    createTexture(gl, {
      src: rampTexels(name),
      width: RAMP_SIZE,
      height: 1,
      minMag: gl.LINEAR,
      wrap: gl.CLAMP_TO_EDGE,
      auto: false,
    })
  return {
    ...field,
    splat,
    resolve,
    corners,
    cells,
    capacity: 0,
    splatVao,
    resolveVao,
    ramps: { heat: ramp('heat'), diverging: ramp('diverging') },
  }
}

/** Makes room for `needed` cells: the buffer at least doubles, so a growing grid reallocates rarely. */
export function reserveCells(gl: WebGL2RenderingContext, gpu: Gpu, needed: number): boolean {
  if (needed <= gpu.capacity) return false
  gpu.capacity = Math.max(needed, gpu.capacity * 2, 1024)
  gl.bindBuffer(gl.ARRAY_BUFFER, gpu.cells)
  gl.bufferData(gl.ARRAY_BUFFER, gpu.capacity * 12, gl.DYNAMIC_DRAW)
  return true
}

export function resizeField(gl: WebGL2RenderingContext, gpu: Gpu, width: number, height: number): void {
  resizeFramebufferInfo(gl, gpu.field, [gpu.fieldAttachment], width, height)
}

export function destroyGpu(gl: WebGL2RenderingContext, gpu: Gpu): void {
  gl.deleteProgram(gpu.splat.program)
  gl.deleteProgram(gpu.resolve.program)
  gl.deleteBuffer(gpu.corners)
  gl.deleteBuffer(gpu.cells)
  gl.deleteVertexArray(gpu.splatVao)
  gl.deleteVertexArray(gpu.resolveVao)
  gl.deleteTexture(gpu.ramps.heat)
  gl.deleteTexture(gpu.ramps.diverging)
  gl.deleteFramebuffer(gpu.field.framebuffer)
  for (const a of gpu.field.attachments) gl.deleteTexture(a as WebGLTexture)
}

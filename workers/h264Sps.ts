/** What the ingest needs from an H.264 sequence parameter set (SPS). */
export interface H264Sps {
  /** profile_idc (66 Baseline, 77 Main, 100 High, ...). */
  profileIdc: number;
  /** The byte of constraint_set0..5 flags and reserved bits, as in profile-level-id. */
  constraintFlags: number;
  /** level_idc: ten times the level (31 = 3.1). */
  levelIdc: number;
  /** profile-level-id as in SDP (RFC 6184 §8.1): 6 lower-case hex digits. */
  profileLevelId: string;
  /** Displayed width in pixels (coded size minus frame cropping). */
  width: number;
  /** Displayed height in pixels (coded size minus frame cropping; a field-coded stream counts both fields). */
  height: number;
  /** frame_mbs_only_flag: false when the stream may contain interlaced (field) pictures. */
  frameMbsOnly: boolean;
  /** max_num_reorder_frames from the VUI bitstream_restriction, when present (0 = no B-frame reordering). */
  maxNumReorderFrames?: number;
  /** Frames per second from the VUI timing info, when present: time_scale / (2 * num_units_in_tick). */
  fps?: number;
}

/** Profiles whose SPS carries chroma_format_idc, bit depths and scaling lists (H.264 §7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Largest picture side accepted, in macroblocks (2048 * 16 = 32768 px, far above level 6.2). */
const MAX_SIDE_IN_MBS = 2048;

/**
 * A read position in an RBSP, MSB first. Every read past the end throws instead of returning
 * zeros (a plain record and functions rather than a class: the file models the SPS, not a reader).
 */
interface BitCursor {
  readonly bytes: Buffer;
  bit: number;
}

const TRUNCATED = 'invalid SPS: truncated';

/** An unsigned integer of n <= 32 bits, u(n). */
function u(reader: BitCursor, n: number): number {
  if (n > reader.bytes.length * 8 - reader.bit) throw new Error(TRUNCATED);
  let value = 0;
  for (let i = 0; i < n; i++) {
    const byte = reader.bytes[reader.bit >> 3]!;
    value = value * 2 + ((byte >> (7 - (reader.bit & 7))) & 1);
    reader.bit++;
  }
  return value;
}

function flag(reader: BitCursor): boolean {
  return u(reader, 1) === 1;
}

/** Unsigned Exp-Golomb, ue(v) (§9.1); at most 31 leading zeros so the value fits 32 bits. */
function ue(reader: BitCursor): number {
  let leadingZeros = 0;
  while (u(reader, 1) === 0) {
    if (++leadingZeros > 31) throw new Error('invalid SPS: Exp-Golomb code longer than 32 bits');
  }
  return 2 ** leadingZeros - 1 + u(reader, leadingZeros);
}

/** Signed Exp-Golomb, se(v) (§9.1.1). */
function se(reader: BitCursor): number {
  const k = ue(reader);
  return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
}

/** ue(v) that must not exceed `max` (the range the standard allows for that syntax element). */
function bounded(reader: BitCursor, name: string, max: number): number {
  const value = ue(reader);
  if (value > max) throw new Error(`invalid SPS: ${name} ${value} out of range (max ${max})`);
  return value;
}

/** Removes emulation_prevention_three_byte (00 00 03 -> 00 00, H.264 §7.4.1). */
function toRbsp(payload: Buffer): Buffer {
  const out = Buffer.alloc(payload.length);
  let length = 0;
  let zeros = 0;
  for (const byte of payload) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out[length++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, length);
}

/** scaling_list() (§7.3.2.1.1.1): only read through, the values are not needed. */
function skipScalingList(reader: BitCursor, size: number): void {
  let lastScale = 8;
  let nextScale = 8;
  for (let j = 0; j < size; j++) {
    if (nextScale !== 0) {
      const delta = se(reader);
      if (delta < -128 || delta > 127) throw new Error(`invalid SPS: delta_scale ${delta} out of range`);
      nextScale = (lastScale + delta + 256) % 256;
    }
    lastScale = nextScale === 0 ? lastScale : nextScale;
  }
}

/** hrd_parameters() (§E.1.2): only read through. */
function skipHrdParameters(reader: BitCursor): void {
  const cpbCount = bounded(reader, 'cpb_cnt_minus1', 31) + 1;
  u(reader, 8); // bit_rate_scale, cpb_size_scale
  for (let i = 0; i < cpbCount; i++) {
    ue(reader); // bit_rate_value_minus1
    ue(reader); // cpb_size_value_minus1
    u(reader, 1); // cbr_flag
  }
  u(reader, 20); // four 5-bit delay and offset lengths
}

/** The VUI fields of interest (§E.1.1). */
function readVui(reader: BitCursor, sps: H264Sps): void {
  if (flag(reader)) {
    const aspectRatioIdc = u(reader, 8);
    if (aspectRatioIdc === 255) u(reader, 32); // sar_width, sar_height (Extended_SAR)
  }
  if (flag(reader)) u(reader, 1); // overscan_appropriate_flag
  if (flag(reader)) {
    u(reader, 4); // video_format, video_full_range_flag
    if (flag(reader)) u(reader, 24); // colour_primaries, transfer_characteristics, matrix_coefficients
  }
  if (flag(reader)) {
    ue(reader); // chroma_sample_loc_type_top_field
    ue(reader); // chroma_sample_loc_type_bottom_field
  }
  if (flag(reader)) {
    const numUnitsInTick = u(reader, 32);
    const timeScale = u(reader, 32);
    u(reader, 1); // fixed_frame_rate_flag
    if (numUnitsInTick > 0 && timeScale > 0) sps.fps = timeScale / (2 * numUnitsInTick);
  }
  const nalHrd = flag(reader);
  if (nalHrd) skipHrdParameters(reader);
  const vclHrd = flag(reader);
  if (vclHrd) skipHrdParameters(reader);
  if (nalHrd || vclHrd) u(reader, 1); // low_delay_hrd_flag
  u(reader, 1); // pic_struct_present_flag
  if (flag(reader)) {
    u(reader, 1); // motion_vectors_over_pic_boundaries_flag
    ue(reader); // max_bytes_per_pic_denom
    ue(reader); // max_bits_per_mb_denom
    ue(reader); // log2_max_mv_length_horizontal
    ue(reader); // log2_max_mv_length_vertical
    sps.maxNumReorderFrames = bounded(reader, 'max_num_reorder_frames', 16);
  }
}

/**
 * Parses an H.264 sequence parameter set NAL unit (ITU-T H.264 §7.3.2.1.1), header byte included
 * (nal_unit_type 7); emulation-prevention bytes are removed first (§7.4.1). Returns the profile,
 * level, displayed size (§7.4.2.1.1: coded size minus frame cropping, in CropUnitX/CropUnitY units)
 * and, when a VUI is present (§E.1.1), the frame rate and max_num_reorder_frames.
 *
 * High profiles (chroma_format_idc, bit depths, scaling lists), pic_order_cnt_type 0, 1 and 2 and
 * field coding are handled. A VUI that ends early (some cameras truncate it) keeps the fields read
 * before the end, as decoders do; any other truncation or out-of-range value throws
 * Error('invalid SPS: ...'). Every loop is bounded by a range-checked count, so hostile input
 * cannot hang the parser or make it read out of range.
 */
export function parseH264Sps(nal: Buffer): H264Sps {
  if (nal.length < 4) throw new Error(`invalid SPS: ${nal.length} bytes`);
  const header = nal[0]!;
  if (header & 0x80) throw new Error('invalid SPS: forbidden_zero_bit is set');
  if ((header & 0x1f) !== 7) throw new Error(`invalid SPS: NAL unit type ${header & 0x1f}, expected 7`);
  const reader: BitCursor = { bytes: toRbsp(nal.subarray(1)), bit: 0 };

  const profileIdc = u(reader, 8);
  const constraintFlags = u(reader, 8);
  const levelIdc = u(reader, 8);
  bounded(reader, 'seq_parameter_set_id', 31);

  let chromaFormatIdc = 1; // 4:2:0 when not present
  let separateColourPlane = false;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = bounded(reader, 'chroma_format_idc', 3);
    if (chromaFormatIdc === 3) separateColourPlane = flag(reader);
    bounded(reader, 'bit_depth_luma_minus8', 6);
    bounded(reader, 'bit_depth_chroma_minus8', 6);
    u(reader, 1); // qpprime_y_zero_transform_bypass_flag
    if (flag(reader)) {
      const lists = chromaFormatIdc === 3 ? 12 : 8;
      for (let i = 0; i < lists; i++) {
        if (flag(reader)) skipScalingList(reader, i < 6 ? 16 : 64);
      }
    }
  }

  bounded(reader, 'log2_max_frame_num_minus4', 12);
  const picOrderCntType = bounded(reader, 'pic_order_cnt_type', 2);
  if (picOrderCntType === 0) {
    bounded(reader, 'log2_max_pic_order_cnt_lsb_minus4', 12);
  } else if (picOrderCntType === 1) {
    u(reader, 1); // delta_pic_order_always_zero_flag
    se(reader); // offset_for_non_ref_pic
    se(reader); // offset_for_top_to_bottom_field
    const cycle = bounded(reader, 'num_ref_frames_in_pic_order_cnt_cycle', 255);
    for (let i = 0; i < cycle; i++) se(reader); // offset_for_ref_frame[i]
  }
  ue(reader); // max_num_ref_frames
  u(reader, 1); // gaps_in_frame_num_value_allowed_flag
  const widthInMbs = bounded(reader, 'pic_width_in_mbs_minus1', MAX_SIDE_IN_MBS - 1) + 1;
  const heightInMapUnits = bounded(reader, 'pic_height_in_map_units_minus1', MAX_SIDE_IN_MBS - 1) + 1;
  const frameMbsOnly = flag(reader);
  if (!frameMbsOnly) u(reader, 1); // mb_adaptive_frame_field_flag
  u(reader, 1); // direct_8x8_inference_flag

  // §7.4.2.1.1: the crop offsets count chroma samples, or luma samples when there is no chroma array.
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeightC = chromaArrayType === 1 ? 2 : 1;
  const frameHeightFactor = frameMbsOnly ? 1 : 2;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC;
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC) * frameHeightFactor;
  let width = widthInMbs * 16;
  let height = heightInMapUnits * 16 * frameHeightFactor;
  if (flag(reader)) {
    const left = ue(reader);
    const right = ue(reader);
    const top = ue(reader);
    const bottom = ue(reader);
    width -= (left + right) * cropUnitX;
    height -= (top + bottom) * cropUnitY;
    if (width <= 0 || height <= 0) throw new Error('invalid SPS: frame cropping larger than the picture');
  }

  const sps: H264Sps = {
    profileIdc,
    constraintFlags,
    levelIdc,
    profileLevelId: nal.subarray(1, 4).toString('hex'),
    width,
    height,
    frameMbsOnly,
  };
  let vuiPresent = false;
  try {
    vuiPresent = flag(reader);
  } catch {
    // An SPS cut right after the cropping fields still describes the picture; treated as no VUI.
  }
  if (vuiPresent) {
    try {
      // readVui sets each field only once its syntax element is read whole.
      readVui(reader, sps);
    } catch (error) {
      if (!(error instanceof Error && error.message === TRUNCATED)) throw error;
    }
  }
  return sps;
}

/**
 * Decodes an SDP sprop-parameter-sets value (RFC 6184 §8.1: comma-separated base64 NAL units,
 * usually SPS then PPS) into NAL unit buffers. Empty entries and entries that are not base64
 * (padding may be missing, as some cameras write it) are skipped.
 */
export function decodeSpropParameterSets(value: string): Buffer[] {
  const nals: Buffer[] = [];
  for (const entry of value.split(',')) {
    const text = entry.trim();
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.replace(/=+$/, '').length % 4 === 1) continue;
    const nal = Buffer.from(text, 'base64');
    if (nal.length > 0) nals.push(nal);
  }
  return nals;
}

import { expect } from 'chai';
import { RtspError } from '../../workers/rtsp/RtspError.ts';

/** The RtspError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function rtspFailure(promise: Promise<unknown>): Promise<RtspError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(RtspError);
    return error as RtspError;
  }
  throw new Error('expected an RtspError');
}

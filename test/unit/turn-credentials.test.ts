import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { TurnCredentials, turnCredential, turnUsername } from '../../server/media/TurnCredentials.ts';

describe('TURN REST-API credentials (draft-uberti-behave-turn-rest-00, coturn use-auth-secret)', () => {
  it('matches vectors computed once with openssl', () => {
    // printf '%s' '1700000000:user-42' | openssl dgst -sha1 -hmac 'north-wind-secret' -binary | base64
    expect(turnCredential('north-wind-secret', '1700000000:user-42')).to.equal('EDrfJ4giav979eVEbcXPulBvmYQ=');
    // printf '%s' '1700003600:5f1a2b3c' | openssl dgst -sha1 -hmac 'c5-turn-test' -binary | base64
    expect(turnCredential('c5-turn-test', '1700003600:5f1a2b3c')).to.equal('y6J/iti40IDd4pEyAW8HZD94vY0=');
  });

  it('issues one RTCIceServer with username "<expiry>:<user>" and the HMAC-SHA1 of it', () => {
    const turn = new TurnCredentials({ urls: ['turns:192.0.2.10:443?transport=tcp', 'turn:192.0.2.10:443?transport=tcp'], secret: 'c5-turn-test', ttlS: 3600 }, () => 1_700_000_000_500);
    const servers = turn.iceServers('5f1a2b3c');
    expect(servers).to.deep.equal([
      { urls: ['turns:192.0.2.10:443?transport=tcp', 'turn:192.0.2.10:443?transport=tcp'], username: '1700003600:5f1a2b3c', credential: 'y6J/iti40IDd4pEyAW8HZD94vY0=' },
    ]);
    // Independently of the module: node:crypto directly.
    const server = servers[0]!;
    expect(server.credential).to.equal(createHmac('sha1', 'c5-turn-test').update(server.username).digest('base64'));
  });

  it('expires ttlS seconds from the clock and follows it', () => {
    let now = 1_000_000_000_000;
    const turn = new TurnCredentials({ urls: ['turn:192.0.2.10:443?transport=tcp'], secret: 's', ttlS: 60 }, () => now);
    expect(turn.iceServers('u')[0]!.username).to.equal('1000000060:u');
    now += 30_000;
    expect(turn.iceServers('u')[0]!.username).to.equal('1000000090:u');
  });

  it('refuses settings and user ids the scheme cannot carry', () => {
    expect(() => new TurnCredentials({ urls: [], secret: 's', ttlS: 60 })).to.throw(/URL/);
    expect(() => new TurnCredentials({ urls: ['stun:192.0.2.10'], secret: 's', ttlS: 60 })).to.throw(/TURN URL/);
    expect(() => new TurnCredentials({ urls: ['turn:192.0.2.10'], secret: '', ttlS: 60 })).to.throw(/secret/);
    expect(() => new TurnCredentials({ urls: ['turn:192.0.2.10'], secret: 's', ttlS: 0 })).to.throw(/lifetime/);
    expect(() => turnUsername('a:b', 1)).to.throw(/":"/);
    expect(() => turnUsername('', 1)).to.throw();
  });
});

import type { NotifyEvent } from '@ringmaster/api';

/** What a notification says: never a token, a value or a webhook URL, only the release's facts and a link. */
export interface NotifyMessage {
  event: NotifyEvent;
  release: string;
  ring: string | null;
  /** The release's state the event leaves it in. */
  state: string;
  reason: string | null;
  /** The release page on the dashboard. */
  link: string;
  revision: string;
  at: string;
}

const TITLE: Record<NotifyEvent, string> = {
  waiting_for_approval: 'waits for approval', halted: 'halted', rolled_back: 'was rolled back', succeeded: 'succeeded',
};
const COLOR: Record<NotifyEvent, string> = { waiting_for_approval: 'FFB900', halted: 'D13438', rolled_back: 'D13438', succeeded: '107C10' };

/** One line: "Release r… halted in ring prod: reason". */
export function headline(m: NotifyMessage): string {
  return `Release ${m.release} ${TITLE[m.event]}${m.ring ? ` ${m.event === 'waiting_for_approval' ? 'before' : 'in'} ring ${m.ring}` : ''}${m.reason ? `: ${m.reason}` : ''}`;
}

/** Slack's incoming-webhook shape: `text` (the fallback every client shows) and `blocks`. */
export function slackMessage(m: NotifyMessage): unknown {
  const line = headline(m);
  return {
    text: `${line} ${m.link}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: line } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `<${m.link}|Open release ${m.release}> · revision ${m.revision.slice(0, 12)}` }] },
    ],
  };
}

/** A Microsoft Teams MessageCard (what Teams' incoming webhooks take), with a button to the release. */
export function teamsMessage(m: NotifyMessage): unknown {
  return {
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    summary: headline(m),
    themeColor: COLOR[m.event],
    title: `Release ${m.release} ${TITLE[m.event]}`,
    text: m.reason ?? '',
    sections: [{
      facts: [
        { name: 'Release', value: m.release }, { name: 'Ring', value: m.ring ?? '–' }, { name: 'State', value: m.state }, { name: 'Revision', value: m.revision.slice(0, 12) },
      ],
    }],
    potentialAction: [{ '@type': 'OpenUri', name: 'Open the release', targets: [{ os: 'default', uri: m.link }] }],
  };
}

/** The generic webhook's JSON: the message's fields as they are. */
export function genericMessage(m: NotifyMessage): unknown {
  return { event: m.event, release: m.release, ring: m.ring, state: m.state, reason: m.reason, link: m.link, revision: m.revision, at: m.at };
}

export function formatMessage(format: 'slack' | 'teams' | 'generic', m: NotifyMessage): unknown {
  return format === 'slack' ? slackMessage(m) : format === 'teams' ? teamsMessage(m) : genericMessage(m);
}

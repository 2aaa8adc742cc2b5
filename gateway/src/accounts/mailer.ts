/** One outgoing email: invitations and password resets. */
export interface Mail {
  to: string
  subject: string
  text: string
}

/** Sends mail. The embedded platform has no mail server, so its mailer writes each message to the log. */
export interface Mailer {
  send(mail: Mail): Promise<void>
}

export class LogMailer implements Mailer {
  constructor(private readonly log: (line: string) => void) {}
  async send(mail: Mail): Promise<void> {
    this.log(`mail to ${mail.to}: ${mail.subject}\n${mail.text}`)
  }
}

/** Keeps messages in memory, newest last: what an operator's outbox view or a test reads. */
export class OutboxMailer implements Mailer {
  readonly sent: Mail[] = []
  async send(mail: Mail): Promise<void> {
    this.sent.push(mail)
    if (this.sent.length > 1000) this.sent.shift()
  }
}

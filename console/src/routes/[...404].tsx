import { A } from '@solidjs/router'

export default function NotFound() {
  return (
    <section aria-labelledby="nf-title">
      <h1 id="nf-title">Page not found</h1>
      <p>
        There is no console page here. <A href="/sites">Go to your sites</A>.
      </p>
    </section>
  )
}

import { Navigate } from '@solidjs/router'
import { session } from '../auth/session'

export default function Home() {
  return <Navigate href={session() === null ? '/login' : '/sites'} />
}

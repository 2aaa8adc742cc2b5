import { Router } from '@solidjs/router'
import { FileRoutes } from '@solidjs/start/router'
import { Suspense } from 'solid-js'
import { AuthProvider } from './auth/context'
import { Shell } from './components/shell'
import { base } from './paths'
import './app.css'

export default function App() {
  return (
    <Router
      base={base}
      root={(props) => (
        <AuthProvider>
          <Shell>
            <Suspense>{props.children}</Suspense>
          </Shell>
        </AuthProvider>
      )}
    >
      <FileRoutes />
    </Router>
  )
}

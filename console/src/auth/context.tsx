import { createContext, createResource, type ParentProps, type Resource, useContext } from 'solid-js'
import { api } from '../api/client'
import type { Me, Permission } from '../api/types'
import { session, userIdOf } from './session'

interface Auth {
  /** The signed-in account, its role and permissions in the current organisation. */
  me: Resource<Me | undefined>
  /** Whether the current role holds a permission (false until `/v1/me` has answered). */
  can(permission: Permission): boolean
}

const AuthContext = createContext<Auth>()

/** Loads `/v1/me` for each sign-in (user, organisation and role) and shares it with every page. */
export function AuthProvider(props: ParentProps) {
  const [me] = createResource(
    () => {
      const s = session()
      return s === null ? false : `${userIdOf(s)}|${s.org}|${s.role}`
    },
    () => api<Me>('/v1/me'),
  )
  const auth: Auth = {
    me,
    can: (p) => me.latest?.permissions.includes(p) ?? false,
  }
  return <AuthContext.Provider value={auth}>{props.children}</AuthContext.Provider>
}

export function useAuth(): Auth {
  const a = useContext(AuthContext)
  if (a === undefined) throw new Error('useAuth outside AuthProvider')
  return a
}

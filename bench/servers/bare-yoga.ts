/** Baseline: a bare graphql-yoga server answering `{ health { status } }` from a constant. */
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';

const yoga = createYoga({
  schema: createSchema({
    typeDefs: 'type Health { status: String! } type Query { health: Health! }',
    resolvers: { Query: { health: () => ({ status: 'healthy' }) } },
  }),
  logging: false,
  graphiql: false,
});
const server = createServer(yoga);
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const addr = server.address();
  console.log(JSON.stringify({ port: typeof addr === 'object' && addr ? addr.port : 0 }));
});

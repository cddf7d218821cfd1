import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { authenticatedChannel } from '../../http/channel-auth.js';
import { answer, errorResponses } from '../../http/operation.js';
import { unwrap } from '../../http/result.js';
import type { StepUps } from './step-up.js';

const StepUpView = Type.Object({
  status: Type.Union(
    ['pending', 'sent', 'verified', 'failed'].map((s) => Type.Literal(s)),
    {
      description: '`verified` once the right code came back',
    },
  ),
  phone_last4: Type.String(),
  sent_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  verified_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  attempts: Type.Integer(),
});

/** POST /v1/orders/{id}/step-up: the channel relays the code the seller received (docs/risk.md#step-up). */
export function stepUpRoutes(stepUps: StepUps): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/orders/:id/step-up',
      {
        schema: {
          operationId: 'verifyStepUp',
          tags: ['orders'],
          summary: "Give back the step-up code sent to the seller's phone",
          description:
            'When risk holds an order for a geo jump and the order named `seller.phone`, a six-digit code is sent by SMS. The right code marks the step-up verified for the reviewer; 5 wrong tries or 10 minutes spend it.',
          params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
          body: Type.Object(
            { code: Type.String({ pattern: '^[0-9]{6}$' }) },
            { additionalProperties: false },
          ),
          response: {
            200: answer(StepUpView, 'The step-up, verified.'),
            ...errorResponses(400, 401, 404, 422),
          },
        },
      },
      async (request) =>
        unwrap(
          await stepUps.verify(authenticatedChannel(request).id, request.params.id, request.body.code),
        ) as never,
    );
  };
}
